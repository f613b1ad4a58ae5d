package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// env is what a command gets from the process besides its arguments.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// action runs a command once its flags are parsed; args are its positional arguments.
type action func(ctx context.Context, e env, args []string) error

// command is one command or subcommand of signingd. A command either has subcommands (sub) or
// declares its flags and returns what runs once they are parsed (flags): the parsing, -h/--help
// and the check of the positional arguments happen before the command touches anything.
type command struct {
	name  string // as typed, e.g. "clients create"
	usage string // synopsis and description; the flags are listed after it
	// minArgs and maxArgs bound the positional arguments; maxArgs < 0: no upper bound.
	minArgs, maxArgs int
	flags            func(fs *flag.FlagSet) action
	sub              []command
}

// errUsage is returned after the usage was printed for a mistake in the command line.
var errUsage = errors.New("see usage above")

// exec runs the command with the arguments that follow its name. -h or --help prints its usage to
// stdout and ends with flag.ErrHelp; a mistake prints the usage to stderr and ends with an error.
func (c command) exec(ctx context.Context, e env, args []string) error {
	if c.sub != nil {
		return c.dispatch(ctx, e, args)
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage is printed below, where it belongs
	run := c.flags(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.printUsage(e.stdout, fs)
		return err
	}
	if err == nil {
		err = c.checkArgs(pos)
	}
	if err != nil {
		c.printUsage(e.stderr, fs)
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return run(ctx, e, pos)
}

// dispatch finds the subcommand named by the first argument.
func (c command) dispatch(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, c.usage)
		return errUsage
	}
	if isHelp(args[0]) {
		fmt.Fprint(e.stdout, c.usage)
		return flag.ErrHelp
	}
	name := strings.TrimSpace(c.name + " " + args[0])
	for _, s := range c.sub {
		if s.name == name {
			return s.exec(ctx, e, args[1:])
		}
	}
	fmt.Fprint(e.stderr, c.usage)
	return fmt.Errorf("unknown command %q", name)
}

func (c command) checkArgs(pos []string) error {
	switch {
	case len(pos) < c.minArgs:
		return errors.New("missing arguments")
	case c.maxArgs >= 0 && len(pos) > c.maxArgs:
		return fmt.Errorf("unexpected arguments: %s", strings.Join(pos[c.maxArgs:], " "))
	}
	return nil
}

func (c command) printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, c.usage)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// parseInterspersed parses flags before and after positional arguments (`clients add-key ID --key
// f`); everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at the first positional argument, or after "--".
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// noFlags is the flags of a command without any: run is what it does.
func noFlags(run action) func(*flag.FlagSet) action {
	return func(*flag.FlagSet) action { return run }
}
