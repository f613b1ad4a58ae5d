package main

import (
	"fmt"
	"io"
	"os"

	"github.com/signingd/signingd/config"
)

// configCmd checks a landscape file or prints the environment reference.
func configCmd(args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("config needs check [FILE] or reference")
	}
	switch args[0] {
	case "check":
		path := getenv("CONFIG_FILE")
		if len(args) > 1 {
			path = args[1]
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
			fmt.Fprintf(stdout, "%s:%s\n", path, p.Error())
		}
		if len(problems) > 0 {
			return fmt.Errorf("%s: %d problems", path, len(problems))
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
		return nil
	case "reference":
		fmt.Fprint(stdout, config.Reference())
		return nil
	default:
		return fmt.Errorf("unknown config command %q", args[0])
	}
}
