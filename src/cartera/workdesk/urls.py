"""The workdesk's pages, mounted at the site's root (the home page itself is `home`)."""

from django.urls import path

from cartera.workdesk import views, views_preferences, views_team
from cartera.workdesk import views_agreements as agreements
from cartera.workdesk import views_disputes as disputes

app_name = "workdesk"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("language/", views_preferences.language, name="language"),
    path("worklist/", views.worklist_page, name="worklist"),
    path("next/", views.next_account, name="next"),
    path("a/<int:debtor_id>/", views.account, name="account"),
    path("a/<int:debtor_id>/contact/", views.contact_log_view, name="contact"),
    path("a/<int:debtor_id>/promise/", views.promise_view, name="promise"),
    path("a/<int:debtor_id>/callback/", views.callback_view, name="callback"),
    path(
        "a/<int:debtor_id>/callback/<int:callback_id>/done/",
        views.callback_done_view,
        name="callback_done",
    ),
    path("a/<int:debtor_id>/message/preview/", views.message_preview_view, name="message_preview"),
    path("a/<int:debtor_id>/message/send/", views.message_send_view, name="message_send"),
    path("a/<int:debtor_id>/dispute/", disputes.dispute_open_view, name="dispute"),
    # Disputes: each one's page and its actions, and the supervisors' list.
    path("disputes/<int:dispute_id>/", disputes.dispute_detail, name="dispute_detail"),
    path(
        "disputes/<int:dispute_id>/files/<int:attachment_id>/",
        disputes.dispute_file,
        name="dispute_file",
    ),
    path("disputes/<int:dispute_id>/attach/", disputes.dispute_attach_view, name="dispute_attach"),
    path("disputes/<int:dispute_id>/owner/", disputes.dispute_assign_view, name="dispute_assign"),
    path(
        "disputes/<int:dispute_id>/resolve/", disputes.dispute_resolve_view, name="dispute_resolve"
    ),
    path("team/disputes/", disputes.team_disputes, name="team_disputes"),
    path(
        "a/<int:debtor_id>/contact-points/", views.contact_point_add_view, name="contact_point_add"
    ),
    path(
        "a/<int:debtor_id>/contact-points/<int:point_id>/",
        views.contact_point_correct_view,
        name="contact_point_correct",
    ),
    path("team/", views_team.team, name="team"),
    path("team/targets/", views_team.targets, name="targets"),
    path("team/delinquents/", views_team.delinquents, name="delinquents"),
    path("team/runs/", views_team.runs, name="runs"),
    path("team/runs/<int:run_id>/", views_team.run_detail, name="run"),
    path("team/messages/", views_team.waiting, name="waiting"),
    path("team/messages/<int:message_id>/override/", views_team.override, name="override"),
    path("team/messages/<int:message_id>/decide/", views_team.decide, name="decide"),
    path("team/assignment/", views_team.assignment, name="assignment"),
    path("team/assignment/rebalance/", views_team.rebalance, name="rebalance"),
    path("team/approvals/", views_team.approvals, name="approvals"),
    # Payment agreements: the calculator and proposal on the account page, the approvals queue.
    path("a/<int:debtor_id>/agreement/", agreements.agreement_start, name="agreement"),
    path(
        "a/<int:debtor_id>/agreement/calculate/",
        agreements.agreement_calculate,
        name="agreement_calculate",
    ),
    path(
        "a/<int:debtor_id>/agreement/propose/",
        agreements.agreement_propose_view,
        name="agreement_propose",
    ),
    path(
        "a/<int:debtor_id>/agreement/cancel/",
        agreements.agreement_cancel_view,
        name="agreement_cancel",
    ),
    path(
        "a/<int:debtor_id>/agreement/break/",
        agreements.agreement_break_view,
        name="agreement_break",
    ),
    path("a/<int:debtor_id>/agreement/pdf/", agreements.agreement_pdf, name="agreement_pdf"),
    path("team/approvals/approve/", agreements.agreement_approve_view, name="agreement_approve"),
    path("team/approvals/reject/", agreements.agreement_reject_view, name="agreement_reject"),
]
