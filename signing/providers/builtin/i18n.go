package builtin

import (
	"net/http"
	"strings"
)

// messages holds every text of the signer pages, Dutch first.
var messages = map[string]map[string]string{
	"nl": {
		"title": "Documenten ondertekenen", "skip": "Naar de inhoud", "from": "Verzoek van", "documents": "Documenten",
		"preview": "Voorbeeld van", "download": "Download", "page": "Pagina", "zoom.in": "Vergroten", "zoom.out": "Verkleinen",
		"auth.title": "Bevestig dat u het bent", "auth.sms": "We sturen een code van 6 cijfers per sms naar", "auth.email": "We sturen een code van 6 cijfers per e-mail naar",
		"auth.send": "Stuur mij een code", "auth.resend": "Stuur een nieuwe code", "auth.code": "Code (6 cijfers)", "auth.verify": "Bevestigen",
		"auth.hint":  "De code is 5 minuten geldig. Na 5 onjuiste pogingen wordt de link tijdelijk geblokkeerd.",
		"sign.title": "Ondertekenen", "sign.consent": "Ik heb de documenten gelezen en ga akkoord met het digitaal ondertekenen ervan.",
		"sign.button": "Onderteken", "decline.title": "Weigeren", "decline.reason": "Reden van weigering (verplicht)",
		"decline.button": "Weiger ondertekenen", "decline.hint": "De aanvrager ontvangt uw reden.",
		"decline.confirm":        "Weet u zeker dat u het ondertekenen wilt weigeren? Het verzoek stopt dan, ook voor de andere ondertekenaars. Uw reden:",
		"decline.confirm.button": "Ja, weiger ondertekenen", "decline.back": "Nee, terug naar de documenten",
		"auth.sms.sent": "We hebben een code van 6 cijfers per sms gestuurd naar", "auth.email.sent": "We hebben een code van 6 cijfers per e-mail gestuurd naar",
		"m.code_sent": "Vul de code hieronder in.", "m.code_wait": "U heeft net een code gekregen. Wacht een halve minuut voor u een nieuwe vraagt.",
		"m.code_wrong": "Die code is niet juist. Probeer het opnieuw.", "m.code_expired": "Die code is verlopen of er is nog geen code verstuurd. Vraag een nieuwe code aan.",
		"m.code_format": "Vul de code van 6 cijfers in.", "m.locked": "Te veel onjuiste codes. Deze link is tijdelijk geblokkeerd; probeer het later opnieuw.",
		"m.consent": "Vink aan dat u akkoord gaat om te ondertekenen.", "m.reason": "Vul een reden in (maximaal 500 tekens).",
		"m.send_failed": "De code kon niet worden verstuurd. Probeer het over een paar minuten opnieuw.",
		"done.signed":   "U heeft de documenten ondertekend. Dank u wel. U kunt dit venster sluiten.",
		"done.declined": "U heeft het ondertekenen geweigerd. De aanvrager is op de hoogte gebracht.",
		"err.title":     "Deze link werkt niet", "err.invalid": "Deze link is ongeldig. Controleer of u de volledige link uit de e-mail heeft gebruikt.",
		"err.expired": "Deze link is verlopen. Neem contact op met de aanvrager.", "err.closed": "Dit ondertekenverzoek is niet meer actief: het is ingetrokken, verlopen of door een andere ondertekenaar geweigerd.",
		"err.forbidden": "Deze actie is niet toegestaan. Open de link uit uw e-mail opnieuw.", "err.internal": "Er ging iets mis bij ons. Probeer het later opnieuw.",
		"err.notfound": "Deze pagina bestaat niet.", "err.sign_failed": "Het ondertekenen is niet gelukt. Probeer het later opnieuw.",
		"err.form": "Dit formulier kon niet worden verwerkt. Open de link uit uw e-mail opnieuw.",
		"error":    "Fout", "notice": "Melding", "required": "verplicht",
	},
	"en": {
		"title": "Sign documents", "skip": "Skip to content", "from": "Request from", "documents": "Documents",
		"preview": "Preview of", "download": "Download", "page": "Page", "zoom.in": "Zoom in", "zoom.out": "Zoom out",
		"auth.title": "Confirm it is you", "auth.sms": "We will text a 6-digit code to", "auth.email": "We will e-mail a 6-digit code to",
		"auth.send": "Send me a code", "auth.resend": "Send a new code", "auth.code": "Code (6 digits)", "auth.verify": "Confirm",
		"auth.hint":  "The code is valid for 5 minutes. After 5 wrong attempts the link is locked for a while.",
		"sign.title": "Sign", "sign.consent": "I have read the documents and agree to sign them digitally.",
		"sign.button": "Sign", "decline.title": "Decline", "decline.reason": "Reason for declining (required)",
		"decline.button": "Decline to sign", "decline.hint": "The requester will receive your reason.",
		"decline.confirm":        "Are you sure you want to decline? The request then stops, for the other signers too. Your reason:",
		"decline.confirm.button": "Yes, decline to sign", "decline.back": "No, back to the documents",
		"auth.sms.sent": "We have texted a 6-digit code to", "auth.email.sent": "We have e-mailed a 6-digit code to",
		"m.code_sent": "Enter the code below.", "m.code_wait": "You just received a code. Wait half a minute before asking for a new one.",
		"m.code_wrong": "That code is not correct. Please try again.", "m.code_expired": "That code has expired or no code was sent yet. Ask for a new code.",
		"m.code_format": "Enter the 6-digit code.", "m.locked": "Too many wrong codes. This link is locked for a while; please try again later.",
		"m.consent": "Tick the box to agree to sign.", "m.reason": "Please give a reason (at most 500 characters).",
		"m.send_failed": "The code could not be sent. Please try again in a few minutes.",
		"done.signed":   "You have signed the documents. Thank you. You can close this window.",
		"done.declined": "You declined to sign. The requester has been informed.",
		"err.title":     "This link does not work", "err.invalid": "This link is not valid. Check that you used the complete link from the e-mail.",
		"err.expired": "This link has expired. Please contact the requester.", "err.closed": "This signing request is no longer active: it was withdrawn, expired, or declined by another signer.",
		"err.forbidden": "This action is not allowed. Open the link from your e-mail again.", "err.internal": "Something went wrong on our side. Please try again later.",
		"err.notfound": "This page does not exist.", "err.sign_failed": "Signing did not succeed. Please try again later.",
		"err.form": "This form could not be processed. Open the link from your e-mail again.",
		"error":    "Error", "notice": "Notice", "required": "required",
	},
}

// language picks the page language: ?lang= first, then Accept-Language, else Dutch. It never reads
// the body: a form's lang is taken once the link resolved (readForm).
func language(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "nl" {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.Split(part, ";")[0]))
		switch {
		case strings.HasPrefix(tag, "nl"):
			return "nl"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "nl"
}
