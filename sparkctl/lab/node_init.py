#!/usr/bin/python3
"""PID 1 of a simulated Spark (copied into each node; runs under the node's python3).

Reaps orphans, keeps sshd running as its child, and answers signals from the lab:
SIGUSR1 stops sshd (the sshd-stop fault; open sessions stay, like `systemctl stop ssh`),
SIGUSR2 starts it again, SIGTERM ends the node. Standard library only, no sparkctl imports.
"""

import os
import signal
import sys
import time

SSHD = ["/usr/sbin/sshd", "-D", "-e"]
SIGNALS = {signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM}


def start_sshd():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execv(SSHD[0], SSHD)
    return pid


def main():
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    # PID 1 of a namespace drops signals whose handler is SIG_DFL, even blocked ones.
    for sig in SIGNALS:
        signal.signal(sig, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    wanted, sshd_pid, last_start = True, 0, -10.0
    while True:
        while True:  # reap every exited child, ours and orphans
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                break
            if pid == sshd_pid:
                sshd_pid = 0
        # At most one start a second, so an sshd that dies at once does not spin.
        if wanted and not sshd_pid and time.monotonic() - last_start >= 1.0:
            sshd_pid, last_start = start_sshd(), time.monotonic()
        info = signal.sigtimedwait(SIGNALS, 1.0)
        if info is None:
            continue
        if info.si_signo == signal.SIGUSR1:
            wanted = False
            if sshd_pid:
                os.kill(sshd_pid, signal.SIGTERM)
        elif info.si_signo == signal.SIGUSR2:
            wanted = True
        elif info.si_signo == signal.SIGTERM:
            os.kill(-1, signal.SIGKILL)  # every other process in this PID namespace
            sys.exit(0)


if __name__ == "__main__":
    main()
