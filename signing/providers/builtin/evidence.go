package builtin

import (
	"context"
	"fmt"

	"github.com/signingd/signingd/signing"
)

// Evidence returns the signing's audit trail: every event with the signer, the IP address and
// browser it came from and a reason where one was given. The workflow writes the evidence report
// from it; the built-in signer keeps no document of its own.
func (p *Provider) Evidence(ctx context.Context, ref string) (signing.Evidence, error) {
	id, err := parseRef(ref)
	if err != nil {
		return signing.Evidence{}, err
	}
	sg, err := p.o.Store.BuiltinSigning(ctx, id)
	if err != nil {
		return signing.Evidence{}, err
	}
	if sg.Status == "pending" {
		return signing.Evidence{}, fmt.Errorf("builtin: evidence %s: signing still pending", ref)
	}
	events, err := p.o.Store.BuiltinEvents(ctx, id)
	if err != nil {
		return signing.Evidence{}, err
	}
	var ev signing.Evidence
	for _, e := range events {
		out := signing.EvidenceEvent{At: e.At, Signer: -1, Type: e.Type, Words: eventNames[e.Type], IP: e.IP, UserAgent: e.UserAgent}
		if e.Position != nil {
			out.Signer = *e.Position
		}
		if reden, ok := e.Detail["reden"].(string); ok {
			out.Reden = reden
		}
		ev.Events = append(ev.Events, out)
	}
	return ev, nil
}

var eventNames = map[string]string{
	"invited": "uitgenodigd", "opened": "link geopend", "code_sent": "code verstuurd", "code_wrong": "onjuiste code",
	"code_expired": "verlopen code", "locked": "link geblokkeerd", "authenticated": "geauthenticeerd", "signed": "ondertekend",
	"declined": "geweigerd", "reminder": "herinnering verstuurd", "expiry_warning": "verloopwaarschuwing verstuurd",
	"cancelled": "ingetrokken", "expired": "verlopen", "invite_failed": "uitnodiging niet verstuurd",
	"reminder_failed": "herinnering niet verstuurd", "expiry_warning_failed": "verloopwaarschuwing niet verstuurd",
}
