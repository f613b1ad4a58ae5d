package builtin

import (
	"fmt"
	"strings"
	"time"

	"github.com/signingd/signingd/signing/providers/builtin/records"
)

// mailKind is the occasion of a mail with a signer link; it doubles as the event type.
type mailKind string

const (
	mailInvite        mailKind = "invited"
	mailReminder      mailKind = "reminder"
	mailExpiryWarning mailKind = "expiry_warning"
)

// invitationMail is the Dutch mail with the signer's link, with a short English part.
func (p *Provider) invitationMail(sg records.Signing, s records.Signer, token string, expires time.Time, kind mailKind) Mail {
	link := p.link(token)
	until := expires.In(p.o.Location).Format("02-01-2006 15:04 (-07:00)")
	brand := p.brand(sg.RSIN)
	from := requester(brand.Name, sg.Eigenaar)
	var subject, intro, introEN string
	switch kind {
	case mailReminder:
		subject = "Herinnering: document ondertekenen — " + sg.Naam
		intro = "Dit is een herinnering: er ligt nog een document voor u klaar om te ondertekenen."
		introEN = "Reminder: a document is still waiting for your signature."
	case mailExpiryWarning:
		subject = "Laatste kans: document ondertekenen — " + sg.Naam
		intro = "Uw link om te ondertekenen verloopt binnenkort."
		introEN = "Your signing link expires soon."
	default:
		subject = "Verzoek om te ondertekenen — " + sg.Naam
		intro = fmt.Sprintf("%s vraagt u om \"%s\" digitaal te ondertekenen.", from, sg.Naam)
		introEN = fmt.Sprintf("%s asks you to sign \"%s\" digitally.", from, sg.Naam)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Beste %s,\n\n%s\n\nOpen deze persoonlijke link om de documenten te bekijken en te ondertekenen of te weigeren:\n%s\n\n", signerName(s), intro, link)
	fmt.Fprintf(&b, "De link is geldig tot %s en alleen voor u bedoeld; stuur deze e-mail niet door.\n", until)
	switch s.AuthMethod {
	case "sms":
		b.WriteString("Na het openen van de link kiest u \"Stuur mij een code\"; u ontvangt dan een code per sms ter bevestiging.\n")
	case "email":
		b.WriteString("Na het openen van de link kiest u \"Stuur mij een code\"; u ontvangt dan een code per e-mail ter bevestiging.\n")
	}
	fmt.Fprintf(&b, "\n—\n%s Open your personal link (valid until %s, Amsterdam time):\n%s?lang=en\n", introEN, until, link)
	sender := brand.SenderName
	if sender == "" {
		sender = brand.Name
	}
	return Mail{To: s.Email, Subject: subject, Body: b.String(), SenderName: sender, ReplyTo: brand.ReplyTo}
}

// requester names who asks: the organisation and the person, as far as they are known.
func requester(org, eigenaar string) string {
	switch {
	case org != "" && eigenaar != "":
		return org + " (" + eigenaar + ")"
	case org != "":
		return org
	case eigenaar != "":
		return eigenaar
	}
	return "de gemeente"
}

// codeText is the SMS or e-mail body with a one-time code.
func codeText(code, lang string) string {
	if lang == "en" {
		return fmt.Sprintf("Your signing code is %s. It is valid for 5 minutes. Never share it.", code)
	}
	return fmt.Sprintf("Uw code om te ondertekenen is %s. De code is 5 minuten geldig. Deel deze code met niemand.", code)
}
