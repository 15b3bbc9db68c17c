package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/terminal"
)

func setupConsole(p *channel.Plan) error {
	slave, err := terminal.Setup(p.ConsoleFD, p.ConsoleRows, p.ConsoleCols)
	if err != nil {
		return err
	}
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	fd := int(slave.Fd())
	for i := 0; i < 3; i++ {
		if err := unix.Dup3(fd, i, 0); err != nil {
			return fmt.Errorf("make the pty stdio: %w", err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make the pty the controlling terminal: %w", err)
	}
	if fd > 2 {
		slave.Close()
	}
	return nil
}
