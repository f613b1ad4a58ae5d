package builtin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The generic gateway posts {"to","from","text"} with the bearer token and reports non-2xx.
func TestHTTPSMS(t *testing.T) {
	t.Parallel()
	var got map[string]string
	var auth string
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	g := HTTPSMS{URL: srv.URL, Token: "tok", From: "Gemeente"}
	if err := g.SendSMS(context.Background(), "+31611111111", "Uw code is 123456"); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer tok" || got["to"] != "+31611111111" || got["from"] != "Gemeente" || got["text"] != "Uw code is 123456" {
		t.Fatalf("gateway got %v, auth %q", got, auth)
	}
	status = http.StatusBadGateway
	if err := g.SendSMS(context.Background(), "+31611111111", "x"); err == nil {
		t.Fatal("a 502 from the gateway was not an error")
	}
}
