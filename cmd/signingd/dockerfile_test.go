package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDockerImage builds the image from the Dockerfile and runs the binary in it, where a container
// engine is available (none runs on the CI machines of this project; the README says how to build).
func TestDockerImage(t *testing.T) {
	if exec.Command("docker", "info").Run() != nil {
		t.Skip("no container engine: the image is checked only where docker runs")
	}
	if b, err := exec.Command("docker", "build", "-q", "-t", "signingd:test", "--build-arg", "VERSION=test", "../..").CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, b)
	}
	out, err := exec.Command("docker", "run", "--rm", "signingd:test", "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "signingd test" {
		t.Fatalf("docker run signingd:test version: %q %v", out, err)
	}
}
