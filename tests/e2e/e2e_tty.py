#!/usr/bin/env python3
"""peerlog at a real terminal (a pseudo-terminal): the passphrase is asked twice at init and
once to open, without echo and never shown; the name is asked with echo; Ctrl-C, Ctrl-\\ and
a closed terminal at the hidden prompt leave echo on; erase and retention apply are confirmed
by typing. Env: PEERLOG."""
import fcntl, os, select, shutil, signal, subprocess, sys, tempfile, termios, time

PEERLOG = os.environ["PEERLOG"]
checks = failures = 0


def check(cond, what):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


class Term:
    """A child process with a pseudo-terminal as its controlling terminal."""

    def __init__(self, args):
        self.master, self.slave = os.openpty()

        def become_session_leader():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.p = subprocess.Popen(args, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                  preexec_fn=become_session_leader, close_fds=True)
        self.seen = b""

    def expect(self, text, timeout=20):
        end = time.time() + timeout
        while text.encode() not in self.seen and time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if r:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:
                    break
        return text.encode() in self.seen

    def send(self, text):
        os.write(self.master, text.encode())

    def echo_on(self):
        return bool(termios.tcgetattr(self.slave)[3] & termios.ECHO)

    def wait(self):
        rc = self.p.wait(timeout=60)
        self.expect("\x00", timeout=0.5)  # drain what is left
        return rc

    def close(self):
        os.close(self.master)
        os.close(self.slave)


tmp = tempfile.mkdtemp(prefix="pl-tty-")
vault = os.path.join(tmp, "vault")
phrase = "tty passphrase %s" % os.urandom(6).hex()
kdf = ["--kdf-memory", "8", "--kdf-passes", "1", "--kdf-lanes", "1"]
try:
    # init: name with echo, passphrase twice without echo
    t = Term([PEERLOG, "--vault", vault, "init"] + kdf)
    check(t.expect("Your name"), "init asks for the name")
    check(t.echo_on(), "the name is typed with echo")
    t.send("Kim Berg\n")
    check(t.expect("New passphrase: "), "init asks for a passphrase")
    time.sleep(0.2)
    check(not t.echo_on(), "the passphrase is typed without echo")
    t.send(phrase + "\n")
    check(t.expect("Type it again: "), "init asks for the passphrase twice")
    t.send(phrase + "\n")
    check(t.expect("recovery code"), "init prints the recovery code")
    check(t.wait() == 0, "init exits 0")
    check(t.echo_on(), "echo is back after init")
    check(phrase.encode() not in t.seen, "the passphrase never appears on the terminal")
    t.close()

    # different passphrases: nothing created
    t = Term([PEERLOG, "--vault", os.path.join(tmp, "v2"), "init", "--name", "x"] + kdf)
    t.expect("New passphrase: ")
    t.send("first passphrase\n")
    t.expect("Type it again: ")
    t.send("second passphrase\n")
    check(t.expect("differ"), "differing passphrases are named")
    check(t.wait() == 1, "differing passphrases exit 1")
    check(not os.path.exists(os.path.join(tmp, "v2", "keyslots")), "no vault after a mismatch")
    t.close()

    # open with the typed passphrase
    t = Term([PEERLOG, "--vault", vault, "id"])
    check(t.expect("Passphrase: "), "id asks for the passphrase")
    t.send(phrase + "\n")
    check(t.expect("Fingerprint"), "id opens with the typed passphrase")
    check(t.wait() == 0, "id exits 0")
    t.close()

    # a wrong typed passphrase: exit 3
    t = Term([PEERLOG, "--vault", vault, "id"])
    t.expect("Passphrase: ")
    t.send("not it at all\n")
    check(t.expect("wrong passphrase"), "a wrong typed passphrase is named")
    check(t.wait() == 3, "a wrong typed passphrase exits 3")
    t.close()

    # signals at the hidden prompt: echo comes back, peerlog dies of the signal
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM):
        t = Term([PEERLOG, "--vault", vault, "log"])
        t.expect("Passphrase: ")
        time.sleep(0.2)
        check(not t.echo_on(), "echo is off at the prompt (%s)" % sig.name)
        t.p.send_signal(sig)
        rc = t.wait()
        check(rc == -sig, "%s at the prompt ends peerlog by that signal (got %s)" % (sig.name, rc))
        check(t.echo_on(), "echo is back after %s at the prompt" % sig.name)
        t.close()

    # erase and retention apply confirm on the terminal: a wrong answer changes nothing
    org = os.path.join(tmp, "org")
    pf = os.path.join(tmp, "pass")
    with open(pf, "w") as f:
        f.write(phrase + "\n")
    base = [PEERLOG, "--vault", org, "--passphrase-file", pf]

    def run(*args):
        return subprocess.run(base + list(args), capture_output=True, text=True, timeout=60)

    check(run("init", "--name", "Coord", *kdf).returncode == 0, "org vault made")
    check(run("org", "init", "--name", "Tty org", "--retention", "12").returncode == 0, "org made")
    g = run("consent", "grant", "--subject", "new", "--scopes", "peer-support",
            "--valid-from", "2026-01-01", "--json")
    subj = g.stdout.split('"subject":"')[1].split('"')[0] if '"subject":"' in g.stdout else ""
    check(subj.startswith("B-"), "a citizen to erase")
    for answer, rc, said in (("B-0000-0000", 1, "not confirmed"), (subj, 0, "Erased the content")):
        t = Term(base + ["erase", "--subject", subj, "--reason", "asked"])
        check(t.expect("Type the pseudonym again"), "erase asks for the pseudonym again")
        t.send(answer + "\n")
        check(t.expect(said), "erase answered %r says %r" % (answer, said))
        check(t.wait() == rc, "erase answered %r exits %d" % (answer, rc))
        t.close()
        log = run("verify", "--json")
        check(('"bodies_erased":0' in log.stdout) == (rc == 1),
              "the vault's bodies after the answer %r" % answer)
    for answer, rc, said in (("no", 1, "not confirmed"), ("erase", 0, "Nothing is due today")):
        t = Term(base + ["retention", "apply"])
        check(t.expect("Type 'erase'"), "retention apply asks for 'erase'")
        t.send(answer + "\n")
        check(t.expect(said), "retention apply answered %r says %r" % (answer, said))
        check(t.wait() == rc, "retention apply answered %r exits %d" % (answer, rc))
        t.close()
finally:
    shutil.rmtree(tmp, ignore_errors=True)

print("e2e_tty: %d checks, %d failed" % (checks, failures), file=sys.stderr)
sys.exit(1 if failures or checks == 0 else 0)
