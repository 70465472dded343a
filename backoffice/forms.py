"""Staff forms of the money tools: every amount parsed by Django's fields
(a positive whole number of the shop currency), every bad input a message."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.models import Resolution

AMOUNT_MESSAGES = {
    "invalid": _("Le montant doit être un nombre entier positif."),
    "min_value": _("Le montant doit être un nombre entier positif."),
    "max_value": _("Montant trop grand."),
}


def amount_field(required: bool) -> forms.IntegerField:
    return forms.IntegerField(
        min_value=1, max_value=10**12, required=required, error_messages=AMOUNT_MESSAGES
    )


class ResolveForm(forms.Form):
    action = forms.ChoiceField(
        choices=Resolution.Action.choices, error_messages={"invalid_choice": _("Action inconnue.")}
    )
    note = forms.CharField(
        max_length=500, error_messages={"required": _("Une note est obligatoire.")}
    )
    amount = amount_field(required=False)
    collected = amount_field(required=False)
    collected_how = forms.CharField(max_length=120, required=False)
    key = forms.CharField(
        max_length=64, error_messages={"required": _("Formulaire expiré : rechargez la page.")}
    )


class RefundForm(forms.Form):
    payment = forms.IntegerField(
        min_value=1,
        error_messages={"invalid": _("Paiement inconnu."), "required": _("Paiement inconnu.")},
    )
    amount = amount_field(required=True)
    reason = forms.CharField(max_length=300, required=False)
    method = forms.CharField(max_length=60, required=False)
    external_reference = forms.CharField(max_length=120, required=False)
    outside = forms.BooleanField(required=False)
    key = forms.CharField(
        max_length=64, error_messages={"required": _("Formulaire expiré : rechargez la page.")}
    )


def first_error(form: forms.Form) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return str(_("Formulaire invalide."))
