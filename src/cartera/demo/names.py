"""Word lists for the synthetic portfolio: names, company words, streets and cities.

Cities carry their landline area code so that a debtor's fixed phone matches where it lives;
every (area code, first local digit) pair here yields numbers that phonenumbers accepts.
"""

from __future__ import annotations

FIRST_NAMES_MALE = (
    "Juan", "Carlos", "Luis", "Andrés", "Jorge", "José", "Miguel", "Alejandro", "Diego",
    "Santiago", "Sebastián", "Daniel", "David", "Felipe", "Javier", "Fernando", "Ricardo",
    "Manuel", "Pablo", "Camilo", "Mateo", "Nicolás", "Óscar", "Eduardo", "Hernán", "Julián",
    "Mauricio", "Sergio", "Gustavo", "Rafael", "Álvaro", "Francisco", "Antonio", "Iván",
    "Héctor", "Raúl", "Rodrigo", "Enrique", "Tomás", "Gabriel",
)  # fmt: skip

FIRST_NAMES_FEMALE = (
    "María", "Ana", "Laura", "Carolina", "Valentina", "Camila", "Daniela", "Paula", "Andrea",
    "Natalia", "Sofía", "Isabel", "Lucía", "Diana", "Claudia", "Patricia", "Mónica", "Sandra",
    "Adriana", "Juliana", "Catalina", "Alejandra", "Marcela", "Gloria", "Beatriz", "Elena",
    "Carmen", "Rosa", "Teresa", "Verónica", "Ximena", "Lorena", "Paola", "Fernanda", "Gabriela",
    "Mariana", "Luisa", "Juana", "Angélica", "Pilar",
)  # fmt: skip

SURNAMES = (
    "García", "Rodríguez", "Martínez", "López", "González", "Hernández", "Pérez", "Sánchez",
    "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Reyes", "Morales", "Jiménez",
    "Ruiz", "Álvarez", "Romero", "Vargas", "Castro", "Ortiz", "Rojas", "Moreno", "Gutiérrez",
    "Muñoz", "Herrera", "Medina", "Aguilar", "Castillo", "Suárez", "Mendoza", "Cruz", "Vásquez",
    "Ramos", "Guerrero", "Peña", "Cárdenas", "Salazar", "Ospina", "Restrepo", "Cortés",
    "Navarro", "Molina", "Delgado", "Rincón", "Acosta", "Valencia", "Quintero", "Giraldo",
    "Zapata", "Montoya", "Arango", "Osorio", "Duque", "Cano", "Pineda", "Bermúdez", "Fuentes",
    "Carrasco", "Soto", "Contreras", "Sepúlveda", "Espinoza", "Figueroa", "Paredes", "Chávez",
    "Quispe", "Mamani", "Huamán", "Ibáñez", "Iglesias", "Ortega", "Serrano", "Blanco", "Vidal",
    "Campos", "Benítez", "Ponce",
)  # fmt: skip

# "Inversiones Andina S.A.S.", "Distribuidora del Pacífico S.A. de C.V."
COMPANY_ACTIVITIES = (
    "Inversiones", "Distribuidora", "Comercializadora", "Constructora", "Transportes",
    "Servicios", "Soluciones", "Industrias", "Importadora", "Agropecuaria", "Ferretería",
    "Laboratorios", "Textiles", "Alimentos", "Logística", "Tecnologías", "Consultores",
    "Farmacéutica", "Suministros", "Ingeniería", "Confecciones", "Inmobiliaria", "Papelería",
    "Droguería", "Autopartes", "Muebles", "Plásticos", "Metalmecánica", "Clínica", "Hotel",
    "Panificadora", "Lácteos", "Editorial", "Seguridad", "Energía", "Café", "Floristería",
    "Calzado", "Exportadora", "Cerámicas",
)  # fmt: skip

COMPANY_WORDS = (
    "Andina", "del Pacífico", "Global", "Integral", "Express", "Nacional", "del Norte",
    "Continental", "Horizonte", "Alianza", "Progreso", "del Valle", "Sol", "Cóndor", "Central",
    "del Sur", "Premier", "Unión", "Atlántico", "Cordillera", "La Esperanza", "El Roble",
    "San José", "Santa Fe", "Oriente", "Mundial", "Moderna", "Colonial", "Dorada", "Azul",
    "Imperial", "Vanguardia", "Patagonia", "Caribe", "Los Andes", "Occidente", "Ibérica",
    "Mediterránea", "Real", "Selecta",
)  # fmt: skip

# (legal form, weight) per country; the first is the one most companies there use today.
LEGAL_FORMS: dict[str, tuple[tuple[str, int], ...]] = {
    "CO": (("S.A.S.", 70), ("S.A.", 12), ("Ltda.", 12), ("S. en C.", 4), ("S.A. E.S.P.", 2)),
    "MX": (
        ("S.A. de C.V.", 60),
        ("S. de R.L. de C.V.", 20),
        ("S.A.P.I. de C.V.", 10),
        ("S.C.", 10),
    ),
    "ES": (("S.L.", 65), ("S.A.", 15), ("S.L.U.", 15), ("S.Coop.", 5)),
    "CL": (("SpA", 45), ("Ltda.", 25), ("S.A.", 20), ("E.I.R.L.", 10)),
    "PE": (("S.A.C.", 50), ("S.A.", 15), ("S.R.L.", 15), ("E.I.R.L.", 15), ("S.A.A.", 5)),
}

# Street-type words and names. Colombian addresses use numbered calles/carreras.
STREET_TYPES: dict[str, tuple[str, ...]] = {
    "CO": ("Calle", "Carrera", "Avenida", "Transversal", "Diagonal", "Avenida Calle"),
    "MX": ("Av.", "Calle", "Calz.", "Blvd."),
    "ES": ("Calle", "Avenida", "Paseo", "Plaza", "Ronda"),
    "CL": ("Av.", "Calle", "Pasaje"),
    "PE": ("Av.", "Jr.", "Calle", "Psje."),
}

STREET_NAMES: dict[str, tuple[str, ...]] = {
    "MX": (
        "Insurgentes Sur",
        "Reforma",
        "Juárez",
        "Hidalgo",
        "Morelos",
        "Madero",
        "Revolución",
        "Universidad",
        "Constitución",
        "Vallarta",
        "Chapultepec",
        "Independencia",
        "Zaragoza",
        "Allende",
        "Benito Juárez",
        "Patriotismo",
    ),
    "ES": (
        "Mayor",
        "de Alcalá",
        "Gran Vía",
        "de la Castellana",
        "Serrano",
        "del Prado",
        "Diagonal",
        "de Gràcia",
        "Colón",
        "San Vicente",
        "Real",
        "de la Constitución",
        "del Carmen",
        "de Goya",
        "Princesa",
        "Velázquez",
    ),
    "CL": (
        "Providencia",
        "Apoquindo",
        "Libertador Bernardo O'Higgins",
        "Vicuña Mackenna",
        "Irarrázaval",
        "Los Leones",
        "Manquehue",
        "Pedro de Valdivia",
        "Matta",
        "Grecia",
        "Independencia",
        "Recoleta",
        "San Martín",
        "Prat",
        "Colón",
        "Las Condes",
    ),
    "PE": (
        "Javier Prado Este",
        "Arequipa",
        "Larco",
        "La Marina",
        "Benavides",
        "Angamos Oeste",
        "Brasil",
        "Petit Thouars",
        "Abancay",
        "Colonial",
        "Túpac Amaru",
        "Salaverry",
        "Grau",
        "Pardo",
        "Primavera",
        "Aviación",
    ),
}

# (city, weight, landline area code, first digits a local number may start with)
CITIES: dict[str, tuple[tuple[str, int, str, str], ...]] = {
    "CO": (
        ("Bogotá", 40, "601", "2345678"),
        ("Medellín", 15, "604", "2345678"),
        ("Cali", 10, "602", "3456789"),
        ("Barranquilla", 8, "605", "3456789"),
        ("Cartagena", 4, "605", "6"),
        ("Bucaramanga", 5, "607", "6"),
        ("Pereira", 3, "606", "3"),
        ("Manizales", 3, "606", "8"),
        ("Cúcuta", 3, "607", "5"),
        ("Ibagué", 3, "608", "2"),
        ("Villavicencio", 3, "608", "6"),
        ("Santa Marta", 3, "605", "4"),
    ),
    "MX": (
        ("Ciudad de México", 35, "55", "23456789"),
        ("Guadalajara", 15, "33", "123456789"),
        ("Monterrey", 15, "81", "123456789"),
        ("Puebla", 7, "222", "2345678"),
        ("Querétaro", 6, "442", "12345678"),
        ("León", 5, "477", "1234567"),
        ("Tijuana", 5, "664", "2345678"),
        ("Mérida", 5, "999", "12345678"),
        ("Cancún", 4, "998", "12345678"),
        ("Toluca", 3, "722", "12345678"),
    ),
    "ES": (
        ("Madrid", 35, "91", "1234567"),
        ("Barcelona", 25, "93", "1234567"),
        ("Valencia", 10, "96", "1234567"),
        ("Sevilla", 8, "95", "4"),
        ("Zaragoza", 5, "976", "2345"),
        ("Málaga", 6, "95", "2"),
        ("Bilbao", 6, "94", "4"),
        ("Murcia", 5, "968", "2"),
    ),
    "CL": (
        ("Santiago", 60, "2", "2"),
        ("Valparaíso", 8, "32", "2"),
        ("Concepción", 8, "41", "2"),
        ("Antofagasta", 6, "55", "2"),
        ("La Serena", 5, "51", "2"),
        ("Temuco", 5, "45", "2"),
        ("Rancagua", 4, "72", "2"),
        ("Puerto Montt", 4, "65", "2"),
    ),
    "PE": (
        ("Lima", 60, "1", "234567"),
        ("Arequipa", 10, "54", "2345"),
        ("Trujillo", 8, "44", "2345"),
        ("Chiclayo", 7, "74", "2"),
        ("Piura", 6, "73", "3"),
        ("Cusco", 5, "84", "2"),
        ("Huancayo", 4, "64", "2"),
    ),
}

FREE_MAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "CO": ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com"),
    "MX": ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.mx", "prodigy.net.mx"),
    "ES": ("gmail.com", "hotmail.es", "outlook.es", "yahoo.es", "telefonica.net"),
    "CL": ("gmail.com", "hotmail.com", "outlook.com", "yahoo.es", "vtr.net"),
    "PE": ("gmail.com", "hotmail.com", "outlook.com", "yahoo.es"),
}

COMPANY_TLD = {"CO": "com.co", "MX": "com.mx", "ES": "es", "CL": "cl", "PE": "com.pe"}

# The mailbox a company gives for collections.
COMPANY_MAILBOXES = (
    "contabilidad", "facturacion", "tesoreria", "pagos", "cartera", "cuentasporpagar",
    "administracion", "gerencia", "info",
)  # fmt: skip
