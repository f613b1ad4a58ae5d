package onespansim

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/internal/simfault"
)

// TransactionKey is the key in a package's data that the signingd adapter stores its transaction
// id under; PackageByTransaction looks it up.
const TransactionKey = "signingd_transaction_id"

// Sign signs every document for the signer with e-mail email, as they would in the ceremony.
func (s *Server) Sign(packageID, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rl, err := s.findSigner(packageID, email)
	if err != nil {
		return err
	}
	if err := s.signLocked(p, rl, "127.0.0.1"); err != nil {
		return err
	}
	s.autoSignLocked(p)
	return nil
}

// Decline declines the package for the signer with e-mail email, with reason.
func (s *Server) Decline(packageID, email, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rl, err := s.findSigner(packageID, email)
	if err != nil {
		return err
	}
	return s.declineLocked(p, rl, reason, "127.0.0.1")
}

func (s *Server) findSigner(packageID, email string) (*Package, *Role, error) {
	p, ok := s.packages[packageID]
	if !ok {
		return nil, nil, ErrNotFound
	}
	s.touch(p)
	rl, _ := s.roleOf(p, email)
	if rl == nil {
		return nil, nil, fmt.Errorf("%w: no signer %s in %s", ErrNotFound, email, packageID)
	}
	return p, rl, nil
}

// Expire lets a sent package's due date pass now.
func (s *Server) Expire(packageID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.packages[packageID]
	if !ok {
		return ErrNotFound
	}
	if p.Status != StatusSent {
		return fmt.Errorf("%w: package is %s", ErrConflict, p.Status)
	}
	s.expire(p)
	return nil
}

// SetAutoSign makes every invited signer sign at once (benchmarks, the demo).
func (s *Server) SetAutoSign(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.autoSign = on
	if on {
		for _, p := range s.packages {
			s.autoSignLocked(p)
		}
	}
}

// SetOutput makes GET …/documents/{id}/pdf hand back out(signed) instead of the signed PDF, as a
// faulty vendor would; nil restores the real output.
func (s *Server) SetOutput(out func(signed []byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.output = out
}

// Package returns a package as GET /api/packages/{id} shows it.
func (s *Server) Package(id string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.packages[id]
	if !ok {
		return nil, false
	}
	s.touch(p)
	b, _ := json.Marshal(p)
	return b, true
}

// PackageByTransaction returns the id of the (newest) package whose data carries txID under
// TransactionKey.
func (s *Server) PackageByTransaction(txID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.order) - 1; i >= 0; i-- {
		if p, ok := s.packages[s.order[i]]; ok && p.Data[TransactionKey] == txID {
			return p.ID, true
		}
	}
	return "", false
}

// Packages counts the packages held (deleted ones not).
func (s *Server) Packages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.packages)
}

// AddFault adds a fault injection rule for the API under /api.
func (s *Server) AddFault(f simfault.Fault) { s.faults.Add(f) }

// ClearFaults removes the fault injection rules.
func (s *Server) ClearFaults() { s.faults.Clear() }

// evidenceSummary is the evidence summary PDF: the package, its signers and its audit trail, in
// English as OneSpan writes it.
func (s *Server) evidenceSummary(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, ok := s.pkg(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	created, _ := parseDate(p.Created)
	rep := report.New(report.Info{Title: "Evidence Summary " + p.Name, Author: "OneSpan Sign (simulated)", Created: created})
	rep.Line(report.Title, "Evidence Summary")
	rep.Line(report.Body, "Transaction: "+p.Name)
	rep.Line(report.Small, "Package ID: "+p.ID+", status "+p.Status)
	rep.Gap(6)
	rep.Line(report.Heading, "Signers")
	for _, rl := range s.signerRoles(p) {
		sg := rl.Signers[0]
		rep.Line(report.Body, fmt.Sprintf("%s %s <%s>, authentication %s", sg.FirstName, sg.LastName, sg.Email, sg.Auth.Scheme))
	}
	rep.Gap(6)
	rep.Line(report.Heading, "Audit trail")
	for _, e := range p.audit {
		rep.Line(report.Body, e.DateTime+"  "+e.Type+"  "+e.Target+"  "+e.User+" <"+e.Email+">")
		if e.IP != "" || e.Data != "" {
			rep.Line(report.Small, "IP "+e.IP+" "+e.Data)
		}
	}
	s.mu.Unlock()
	b, err := rep.Bytes()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "error.internal", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// inspectRoutes serves the inspection API, for tests and for a person running the demo:
//
//	GET    /inspect/packages                      ids, names and statuses
//	GET    /inspect/packages/{id}                 the package as the API shows it
//	GET    /inspect/transactions/{txid}           {"id": package id} of a signingd transaction
//	POST   /inspect/packages/{id}/sign            {"email"}: that signer signs
//	POST   /inspect/packages/{id}/decline         {"email", "reason"}: that signer declines
//	POST   /inspect/packages/{id}/expire          the due date passes now
//	POST   /inspect/autosign                      {"on": true|false}
//	GET    /inspect/callbacks                     the deliveries so far
//	POST   /inspect/callbacks/drop                {"n"}: lose the next n callbacks
//	POST   /inspect/callbacks/{i}/redeliver       send delivery i again
//	GET    /inspect/shape-errors                  payloads refused for their shape
//	GET    /inspect/faults, POST /inspect/faults (a simfault.Fault), DELETE /inspect/faults
//	GET    /sign/{id}/{roleId}                    the signer's page (Ondertekenen / Weigeren)
func (s *Server) inspectRoutes(mux *http.ServeMux) {
	j := func(pattern string, fn func(r *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			v, err := fn(r)
			switch {
			case errors.Is(err, ErrNotFound):
				writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			case errors.Is(err, ErrConflict):
				writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
			case err != nil:
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			default:
				writeJSON(w, http.StatusOK, v)
			}
		})
	}
	decode := func(r *http.Request, v any) error {
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(v); err != nil && err != io.EOF {
			return err
		}
		return nil
	}
	j("GET /inspect/packages", func(*http.Request) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := []map[string]any{}
		for _, id := range s.order {
			if p, ok := s.packages[id]; ok {
				s.touch(p)
				out = append(out, map[string]any{"id": p.ID, "name": p.Name, "status": p.Status, "trashed": p.Trashed, "transaction": p.Data[TransactionKey]})
			}
		}
		return out, nil
	})
	j("GET /inspect/packages/{id}", func(r *http.Request) (any, error) {
		p, ok := s.Package(r.PathValue("id"))
		if !ok {
			return nil, ErrNotFound
		}
		return p, nil
	})
	j("GET /inspect/transactions/{txid}", func(r *http.Request) (any, error) {
		id, ok := s.PackageByTransaction(r.PathValue("txid"))
		if !ok {
			return nil, ErrNotFound
		}
		return map[string]string{"id": id}, nil
	})
	j("POST /inspect/packages/{id}/sign", func(r *http.Request) (any, error) {
		var in struct{ Email string }
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return map[string]string{}, s.Sign(r.PathValue("id"), in.Email)
	})
	j("POST /inspect/packages/{id}/decline", func(r *http.Request) (any, error) {
		var in struct{ Email, Reason string }
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return map[string]string{}, s.Decline(r.PathValue("id"), in.Email, in.Reason)
	})
	j("POST /inspect/packages/{id}/expire", func(r *http.Request) (any, error) {
		return map[string]string{}, s.Expire(r.PathValue("id"))
	})
	j("POST /inspect/autosign", func(r *http.Request) (any, error) {
		var in struct{ On bool }
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		s.SetAutoSign(in.On)
		return in, nil
	})
	j("GET /inspect/callbacks", func(*http.Request) (any, error) {
		out := []map[string]any{}
		for i, d := range s.Callbacks() {
			out = append(out, map[string]any{"index": i, "name": d.Name, "packageId": d.PackageID, "body": json.RawMessage(d.Body),
				"status": d.Status, "error": d.Err, "dropped": d.Dropped, "redelivery": d.Redeliver})
		}
		return out, nil
	})
	j("POST /inspect/callbacks/drop", func(r *http.Request) (any, error) {
		var in struct{ N int }
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		s.DropCallbacks(in.N)
		return in, nil
	})
	j("POST /inspect/callbacks/{i}/redeliver", func(r *http.Request) (any, error) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil {
			return nil, err
		}
		return map[string]int{"redelivered": i}, s.Redeliver(i)
	})
	j("GET /inspect/shape-errors", func(*http.Request) (any, error) { return append([]string{}, s.ShapeErrors()...), nil })
	j("GET /inspect/faults", func(*http.Request) (any, error) { return s.faults.List(), nil })
	j("POST /inspect/faults", func(r *http.Request) (any, error) {
		var f simfault.Fault
		if err := decode(r, &f); err != nil {
			return nil, err
		}
		switch f.Kind {
		case simfault.Error, simfault.RateLimit, simfault.Drop, simfault.DropAfter, simfault.Latency, simfault.Alter:
		default:
			return nil, fmt.Errorf("unknown fault kind %q", f.Kind)
		}
		s.AddFault(f)
		return s.faults.List(), nil
	})
	j("DELETE /inspect/faults", func(*http.Request) (any, error) { s.ClearFaults(); return []simfault.Fault{}, nil })
	mux.HandleFunc("GET /sign/{id}/{role}", s.signerPage)
	mux.HandleFunc("POST /sign/{id}/{role}", s.signerAct)
}

var signerTmpl = template.Must(template.New("sign").Parse(`<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>{{.Name}} – OneSpan Sign (simulator)</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>{{.Name}}</h1>
<p>Ondertekenaar: {{.Signer}} &lt;{{.Email}}&gt; · status pakket: {{.Status}}</p>
<ul>{{range .Documents}}<li>{{.}}</li>{{end}}</ul>
{{if .Message}}<p><strong>{{.Message}}</strong></p>{{end}}
{{if .CanAct}}<form method="post"><button name="action" value="sign">Ondertekenen</button></form>
<form method="post"><input name="reason" placeholder="Reden" required> <button name="action" value="decline">Weigeren</button></form>{{end}}
</body></html>`))

func (s *Server) signerPage(w http.ResponseWriter, r *http.Request) { s.renderSigner(w, r, "") }

func (s *Server) renderSigner(w http.ResponseWriter, r *http.Request, msg string) {
	s.mu.Lock()
	p, ok := s.packages[r.PathValue("id")]
	if !ok {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	s.touch(p)
	var rl *Role
	for _, x := range p.Roles {
		if x.ID == r.PathValue("role") && x.Type == "SIGNER" {
			rl = x
		}
	}
	if rl == nil {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	sg := rl.Signers[0]
	data := map[string]any{"Name": p.Name, "Signer": sg.FirstName + " " + sg.LastName, "Email": sg.Email, "Status": p.Status,
		"CanAct": isInvited(s.invited(p), rl), "Message": msg}
	var docs []string
	for _, d := range p.Documents {
		docs = append(docs, d.Name)
	}
	data["Documents"] = docs
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = signerTmpl.Execute(w, data)
}

func (s *Server) signerAct(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	var err error
	if p, ok := s.packages[r.PathValue("id")]; ok {
		s.touch(p)
		for _, rl := range p.Roles {
			if rl.ID == r.PathValue("role") && rl.Type == "SIGNER" {
				if r.PostForm.Get("action") == "decline" {
					err = s.declineLocked(p, rl, r.PostForm.Get("reason"), clientIP(r))
				} else if err = s.signLocked(p, rl, clientIP(r)); err == nil {
					s.autoSignLocked(p)
				}
			}
		}
	}
	s.mu.Unlock()
	msg := "Gedaan op " + s.now().Format(time.DateTime) + "."
	if err != nil {
		msg = err.Error()
	}
	s.renderSigner(w, r, msg)
}
