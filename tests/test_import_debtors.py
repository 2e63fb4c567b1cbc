"""Debtors: tax ids as people write them, phones to E.164, contact points, re-imports."""

from __future__ import annotations

import csv

from cartera.portfolio.models import ContactPoint, Debtor

DEBTORS = (
    "codigo_cliente\tnit\tnombre\tcorreo\tcelular\ttelefono\tdireccion\tciudad\n"
    "C1\t900.123.456-8\tFerretería Ñandú S.A.S.\tpagos@nandu.co\t300 123 4567\t(601) 555 1234\tCra 7 # 12-34\tBogotá\n"
    "C2\t1020345678\tJosé Pérez Gómez\t\t+57 310-555-0101\t\t\tMedellín\n"
    "C3\t900.123.456-9\tMal Dígito S.A.S.\t\t\t\t\t\n"
    "C4\t80012345\tCorreo Malo\tno-es-correo\t\t\t\t\n"
    "C5\t52123456\tTeléfono Malo\t\t12\t\t\t\n"
)


def test_debtors_load_from_a_latin1_tab_file(write_file, load):
    path = write_file("clientes.txt", DEBTORS, "latin-1")

    result = load("debtors", path)

    assert (result.created, result.rejected) == (2, 3)
    company = Debtor.objects.get(external_id="C1")
    assert (company.tax_id, company.tax_id_type, company.kind) == ("9001234568", "NIT", "company")
    assert company.city == "Bogotá"
    assert len(company.payment_reference) == 10
    person = Debtor.objects.get(external_id="C2")
    assert (person.tax_id_type, person.kind) == ("CC", "person")
    assert set(ContactPoint.objects.filter(debtor=company).values_list("kind", "value")) == {
        ("email", "pagos@nandu.co"),
        ("mobile", "+573001234567"),
        ("landline", "+576015551234"),
        ("address", "Cra 7 # 12-34"),
    }
    with open(result.rejected_file, encoding="utf-8-sig") as handle:
        reasons = {row["codigo_cliente"]: row for row in csv.DictReader(handle)}
    assert reasons["C3"]["column"] == "tax_id"
    # Spanish by default, like the rest of the product.
    assert "dígito de verificación incorrecto (se esperaba 8)" in reasons["C3"]["reason"]
    assert reasons["C4"]["column"] == "email"
    assert reasons["C5"]["column"] == "mobile"


def test_reimport_unchanged_then_a_new_name_and_phone_update(write_file, load):
    load("debtors", write_file("a.csv", DEBTORS, "latin-1"))

    again = load("debtors", write_file("a.csv", DEBTORS, "latin-1"))
    renamed = load(
        "debtors",
        write_file(
            "b.csv",
            "codigo_cliente,nombre,celular\nC2,José Pérez G.,300 999 8877\n",
        ),
    )

    assert (again.unchanged, again.created, again.updated) == (2, 0, 0)
    assert (renamed.updated, renamed.created) == (1, 0)
    person = Debtor.objects.get(external_id="C2")
    assert person.name == "José Pérez G."
    # The earlier mobile is kept (people may have edited or verified it); the new one joins.
    assert ContactPoint.objects.filter(debtor=person, kind="mobile").count() == 2


def test_debtor_without_external_id_is_keyed_by_tax_id(write_file, load):
    text = "rfc,razon_social,pais\nXAXX010101000,Público en General,MX\n"
    first = load("debtors", write_file("mx.csv", text))
    second = load("debtors", write_file("mx.csv", text))
    assert (first.created, second.unchanged) == (1, 1)
    debtor = Debtor.objects.get()
    assert (debtor.external_id, debtor.country, debtor.tax_id_type) == (
        "XAXX010101000",
        "MX",
        "RFC",
    )


def test_tags_and_kind_words_in_spanish(write_file, load):
    text = 'codigo_cliente,nombre,tipo_persona,etiquetas,pais\nT1,Ana Ruiz,Persona Natural,"vip; mora",Colombia\n'
    result = load("debtors", write_file("t.csv", text))
    assert result.created == 1
    debtor = Debtor.objects.get(external_id="T1")
    assert (debtor.kind, debtor.tags, debtor.country) == ("person", ["mora", "vip"], "CO")
    assert debtor.timezone == "America/Bogota"
