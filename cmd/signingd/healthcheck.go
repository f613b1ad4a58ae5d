package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/signingd/signingd/config"
)

// healthcheck asks the local server's /healthz, for container HEALTHCHECKs on images without curl.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	addr := config.Defaults().ListenAddr
	if v := getenv("LISTEN_ADDR"); v != "" {
		addr = v
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: LISTEN_ADDR %q: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: status %d", res.StatusCode)
	}
	return nil
}
