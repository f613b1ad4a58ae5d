//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// takeTerminal moves dev into a process group of its own and makes that group the terminal's
// foreground, so that Ctrl-C reaches dev alone. Started by `make run`, the interrupt would also
// reach make and go run, and make reports an interrupted recipe as an error even when dev shut
// down cleanly. restore gives the terminal back; without a controlling terminal, or when dev is
// not in the foreground, nothing changes.
func takeTerminal() (restore func()) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return func() {}
	}
	fd := int(tty.Fd())
	orig, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || orig != syscall.Getpgrp() || orig == os.Getpid() {
		// in the background, or already the group's leader (started from a shell directly)
		tty.Close()
		return func() {}
	}
	// a background group that changes the terminal's foreground gets SIGTTOU
	signal.Ignore(syscall.SIGTTOU)
	if err := syscall.Setpgid(0, 0); err != nil {
		signal.Reset(syscall.SIGTTOU)
		tty.Close()
		return func() {}
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, syscall.Getpgrp()); err != nil {
		_ = syscall.Setpgid(0, orig)
		signal.Reset(syscall.SIGTTOU)
		tty.Close()
		return func() {}
	}
	return func() {
		_ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, orig)
		signal.Reset(syscall.SIGTTOU)
		tty.Close()
	}
}
