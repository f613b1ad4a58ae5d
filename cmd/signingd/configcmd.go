package main

import (
	"context"
	"fmt"
	"os"

	"github.com/signingd/signingd/config"
)

// configCommand checks a landscape file or prints the environment reference.
var configCommand = command{name: "config", usage: `Usage:
  signingd config check [FILE]   report every problem of a landscape file, with its line
  signingd config reference      print the environment variables as a Markdown table
`, sub: []command{
	{name: "config check", maxArgs: 1, flags: noFlags(configCheck), usage: `Usage: signingd config check [FILE]

Reports every problem of the landscape file FILE (default: CONFIG_FILE), each with its line, and
fails when there is one.
`},
	{name: "config reference", flags: noFlags(configReference), usage: `Usage: signingd config reference

Prints the environment variables signingd reads, with their defaults, as a Markdown table (the
source of docs/configuration.md).
`},
}}

func configCheck(_ context.Context, e env, args []string) error {
	path := e.getenv("CONFIG_FILE")
	if len(args) > 0 {
		path = args[0]
	}
	if path == "" {
		return fmt.Errorf("config check needs a file (or CONFIG_FILE)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, problems := config.CheckLandscape(b)
	for _, p := range problems {
		fmt.Fprintf(e.stdout, "%s:%s\n", path, p.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %d problems", path, len(problems))
	}
	for _, w := range config.LandscapeWarnings(b) {
		fmt.Fprintf(e.stdout, "%s:warning: %s\n", path, w.Error())
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", path)
	return nil
}

func configReference(_ context.Context, e env, _ []string) error {
	fmt.Fprint(e.stdout, config.Reference())
	return nil
}
