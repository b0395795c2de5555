"""Hostile input: every option and configuration value the tool takes, given the wrong
type, empty, overlong, as bytes that are not UTF-8 and as SQL injection; output name
templates that try to leave the output directory; text cells a spreadsheet would run as
a formula; and source data at the limits of the fact table's types.

Each value is either rejected (exit 64 / 73 / 78, nothing on stdout, the value named in
the message safely quoted: control bytes and malformed UTF-8 as \\xNN, cut after 60 bytes)
or used as data (a file name, a search directory) - and the source and report tables
are unchanged (row counts and checksums, before and after), apart from the one new run of
an accepted value (a run is its report_run row and that of its comparison period, with
their facts, names, totals and view: the report tables are every dyno_crm.report_* table).

Limits of the channels themselves, so the tests use the longest value each can carry:
- an argv string is at most 128 KiB (Linux MAX_ARG_STRLEN), so the "overlong" option
  value is 128 KiB - 1; the configuration file takes the 1 MiB value;
- argv cannot hold a NUL byte, and the INI reader ends a value at a NUL (C strings), so a
  NUL never reaches the name template: test_nul_in_config_value_ends_the_value shows it.

Defects this suite found and that were then fixed (each test below keeps them fixed):
  core/config.c      messages printed keys, sections and some values raw; a line longer
                     than inih's 200-byte buffer was split and its tail parsed as a new line
                     (inih is gone: the tool's own reader takes lines up to 65536 bytes)
  core/plugin_host.c "invalid format" printed the name raw
  sql/migrations     dynoreport_iso8601() dropped the seconds of a UTC offset (LMT zones
                     before ~1940), which moved a period boundary by those seconds (002)
  core/period.h      dr_period.label was one byte short for "previous-quarter" (found by
                     tests/fuzz/fuzz_period; a -D_FORTIFY_SOURCE=2 build aborted)
"""
import os
import shutil
import subprocess
import tempfile
import unittest
import unicodedata

import drtest
import reference
from drtest import ALICE, T1

INJECTION = "'; DROP TABLE dyno_crm.deal; --"
OMIT = object()  # run_args: leave the option out
ARG_MAX_STRLEN = 128 * 1024  # Linux MAX_ARG_STRLEN, including the NUL

# value kinds for options (bytes, since some are not UTF-8)
KINDS = {
    "empty": b"",
    "wrong_type": b"42",
    "injection": INJECTION.encode(),
    "non_utf8": b"\xff\xfe\xc3(\x1b[31m",
    "overlong": b"A" * (ARG_MAX_STRLEN - 1),
}
CONFIG_KINDS = dict(KINDS, overlong=b"A" * (1024 * 1024))

SOURCE_TABLES = ["dyno_crm.deal", "dyno_crm.deal_pipeline_stage_state", "dyno_crm.pipeline_stage"]
TOOL_TABLES = ["dyno_crm.dynoreport_schema_version"]  # and every report table: drtest.report_tables


# ---- what a safe message looks like --------------------------------------------------

def _invisible(cp):
    return (0x80 <= cp <= 0x9F or cp == 0x061C or cp in (0x200E, 0x200F) or 0x2028 <= cp <= 0x202E
            or 0x2066 <= cp <= 0x2069 or cp == 0xFEFF)


def quote(value: bytes) -> bytes:
    """dr_quote() of core/status.c, in Python: the value in single quotes, backslash
    doubled, control bytes / malformed UTF-8 / invisible code points as \\xNN, cut after 60
    output bytes with '...'."""
    pieces, i = [], 0
    while i < len(value):
        b = value[i]
        if b == 0x5C:
            piece, used = b"\\\\", 1
        elif 0x20 <= b < 0x7F:
            piece, used = bytes([b]), 1
        else:
            piece, used = b"\\x%02x" % b, 1
            for n in (2, 3, 4):
                try:
                    ch = value[i:i + n].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if len(ch) == 1 and not _invisible(ord(ch)):
                    piece, used = value[i:i + n], n
                break
        pieces.append(piece)
        i += used
    out, cut, pos = b"", 0, 0
    for piece in pieces:
        if pos + len(piece) > 60:
            return b"'" + out[:cut] + b"...'"
        out += piece
        pos += len(piece)
        if pos <= 60:
            cut = pos
    return b"'" + out + b"'"


def run_raw(args, connect=None, env_extra=None, cwd=None):
    """Run the tool with bytes-or-str arguments; returns (rc, stdout bytes, stderr bytes)."""
    cmd = [os.fsencode(a) if isinstance(a, str) else a for a in drtest.tool_command([], connect)]
    cmd += [os.fsencode(a) if isinstance(a, str) else a for a in args]
    env = drtest.tool_env()
    env.update(env_extra or {})
    with tempfile.TemporaryDirectory(prefix="drtest-cwd-") as scratch:
        # relative paths (an output directory '42') resolve in an empty directory
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=drtest.TOOL_TIMEOUT, cwd=cwd or scratch)
        left = os.listdir(scratch)
    if left:
        raise AssertionError(f"the tool left {left} in its working directory")
    return p.returncode, p.stdout, p.stderr


def snapshot(db, besides=None):
    """Row count and checksum of every source and tool table and of every report table
    (comparison runs and the view's tables included), the number of main runs, and the
    list of tables. With BESIDES (a run id) the report tables' rows of that run and of its
    comparison run are left out."""
    out = {"tables": db.query("SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c"
                              " JOIN pg_namespace n ON n.oid = c.relnamespace"
                              " WHERE n.nspname = 'dyno_crm'")[0][0],
           "main runs": drtest.count_runs(db)}
    for t in SOURCE_TABLES + TOOL_TABLES:
        out[t] = db.query(f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
                          f" FROM {t} AS x")[0]
    for t, value in drtest.report_checksums(db, besides).items():
        out[f"dyno_crm.{t}"] = value
    return out


class HostileTestCase(drtest.FixtureTestCase):

    def run_args(self, outdir, **change):
        """run for T1 / March 2026 with the options in CHANGE (name -> bytes) replaced."""
        opts = {"--tenant": T1, "--all-principals": None, "--period": "2026-03",
                "--output-dir": outdir}  # OMIT: no --output-dir
        for name, value in change.items():
            opts[name] = value
        if "--principal" in change:
            del opts["--all-principals"]
        if "--from" in change or "--to" in change:
            del opts["--period"]
            opts.setdefault("--from", "2026-03-01")
            opts.setdefault("--to", "2026-04-01")
        args = ["run"]
        for name, value in opts.items():
            if value is not OMIT:
                args += [name] if value is None else [name, value]
        return args

    def assert_message_safe(self, err):
        """One short, valid UTF-8 message with no control or invisible characters."""
        self.assertLess(len(err), 2048, f"message of {len(err)} bytes: {err[:200]!r}...")
        text = err.decode("utf-8")  # raises on malformed UTF-8
        for ch in text:
            if ch == "\n":
                continue
            self.assertFalse(unicodedata.category(ch) in ("Cc", "Cf") or _invisible(ord(ch)),
                             f"unsafe character U+{ord(ch):04X} in the message: {text!r}")

    def check_rejected(self, args, code, texts, connect="default", safe=True, outdir=None):
        before = snapshot(self.db)
        rc, out, err = run_raw(args, self.db.odbc if connect == "default" else connect)
        self.assertEqual(rc, code, f"stderr: {err[:600]!r}")
        self.assertEqual(out, b"", "nothing on stdout")
        self.assertTrue(err.startswith(b"dynoreport: error: "), err[:300])
        for text in texts:
            self.assertIn(text, err)
        if safe:
            self.assert_message_safe(err)
        self.assertNotIn(drtest.pg_password().encode(), err)
        self.assertEqual(snapshot(self.db), before, "the database changed")
        if outdir is not None and os.path.isdir(outdir):
            self.assertEqual(os.listdir(outdir), [], "files left in the output directory")

    def check_accepted(self, args, outdir, name, connect="default"):
        """A run that must succeed, with its one file NAME (bytes) in OUTDIR; the source
        tables unchanged and exactly one new run: one main run more, and nothing else
        changed in the report tables but the rows of that run and of its comparison run."""
        before = snapshot(self.db)
        rc, out, err = run_raw(args, self.db.odbc if connect == "default" else connect)
        self.assertEqual(rc, 0, f"stderr: {err[:600]!r}")
        lines = out.split(b"\n")
        self.assertEqual(len(lines), 3, out)
        path = os.path.join(os.fsencode(outdir), name)
        self.assertEqual(lines[1], path)
        self.assertEqual(os.listdir(os.fsencode(outdir)), [name])
        run_id = lines[0].decode()
        after = snapshot(self.db, besides=run_id)
        self.assertEqual(after["main runs"], before["main runs"] + 1, "not exactly one new run")
        for t in before:
            if t != "main runs":
                self.assertEqual(after[t], before[t], f"{t} changed")
        self.assertEqual(self.db.query("SELECT count(*) FROM dyno_crm.report_run r" + drtest.MAIN_RUNS
                                       + " AND id = %s", (run_id,))[0][0], 1, "the new run is not a main run")
        return run_id


DEFAULT_NAME = f"rep_performance_{T1}_2026-03.csv".encode()


class CommandLineTests(HostileTestCase):
    """Every option of `run`, `export` and the global ones, with every hostile kind."""

    def each_kind(self, check):
        for kind, value in KINDS.items():
            with self.subTest(kind=kind):
                check(kind, value)

    def simple_option(self, option, empty_text=None, code=64):
        """An option whose every hostile value is refused with CODE, the value quoted."""
        def check(kind, value):
            outdir = self.make_dir()
            text = empty_text if (kind == "empty" and empty_text) else quote(value)
            self.check_rejected(self.run_args(outdir, **{option: value}), code, [text], outdir=outdir)
        self.each_kind(check)

    def test_option_tenant(self):
        self.simple_option("--tenant")

    def test_option_principal(self):
        self.simple_option("--principal", empty_text=b"empty --principal")

    def test_option_period(self):
        self.simple_option("--period")

    def test_option_from(self):
        self.simple_option("--from")

    def test_option_to(self):
        self.simple_option("--to")

    def test_option_tz(self):
        self.simple_option("--tz")

    def test_option_opt(self):
        self.simple_option("--opt")

    def test_option_opt_values_refused_by_plugins(self):
        """Well-formed --opt whose value the plugin refuses: 64, the plugin's message (which
        echoes the value) escaped by the host."""
        for opt in (b"csv.delimiter=" + INJECTION.encode(), b"csv.bom=\xff\x1b[1m",
                    b"json.pretty=" + b"B" * (ARG_MAX_STRLEN - 20), b"csv.line_ending=42"):
            with self.subTest(opt=opt[:40]):
                outdir = self.make_dir()
                self.check_rejected(self.run_args(outdir, **{"--opt": opt}) + ["--format", "csv,json"],
                                    64, [b"failed in its option check"], outdir=outdir)

    def test_option_format(self):
        def check(kind, value):
            outdir = self.make_dir()
            texts = {"empty": [b"no format in --format ''"], "wrong_type": [b"unknown format '42'"],
                     "injection": [quote(value)]}.get(kind, [])
            # non-UTF-8 and overlong names are printed raw by core/plugin_host.c: see
            # test_option_format_unsafe_bytes_quoted
            self.check_rejected(self.run_args(outdir, **{"--format": value}), 64, texts,
                                safe=kind not in ("non_utf8", "overlong"), outdir=outdir)
        self.each_kind(check)

    def test_option_format_unsafe_bytes_quoted(self):
        for kind in ("non_utf8", "overlong"):
            outdir = self.make_dir()
            self.check_rejected(self.run_args(outdir, **{"--format": KINDS[kind]}), 64,
                                [quote(KINDS[kind])], outdir=outdir)

    def test_option_output_dir(self):
        """Missing directories of every hostile name: 73 (64 when empty), name quoted."""
        def check(kind, value):
            parent = self.make_dir()
            if kind == "empty":
                self.check_rejected(self.run_args(parent, **{"--output-dir": value}), 64,
                                    [b"the output directory is empty"])
                return
            # relative to a fresh directory, so no such directory exists
            missing = os.path.join(os.fsencode(parent), value) if kind != "overlong" else value
            self.check_rejected(self.run_args(parent, **{"--output-dir": missing}), 73,
                                [quote(missing)])
            self.assertEqual(os.listdir(parent), [])
        self.each_kind(check)

    def test_output_dir_with_hostile_names_is_used_as_data(self):
        """Existing directories named with SQL, non-UTF-8 bytes or digits: the run works
        and writes its file there."""
        for kind in ("wrong_type", "injection", "non_utf8"):
            with self.subTest(kind=kind):
                outdir = os.path.join(os.fsencode(self.make_dir()), KINDS[kind])
                os.mkdir(outdir)
                self.check_accepted(self.run_args(outdir), outdir, DEFAULT_NAME)

    def test_option_name(self):
        """--name: empty, overlong and control bytes (the non-UTF-8 value holds an ESC)
        refused; SQL and digits are a plain file name inside the output directory."""
        def check(kind, value):
            outdir = self.make_dir()
            if kind in ("empty", "overlong", "non_utf8"):
                self.check_rejected(self.run_args(outdir, **{"--name": value}), 64, [quote(value)],
                                    outdir=outdir)
            else:
                self.check_accepted(self.run_args(outdir, **{"--name": value}), outdir, value)
        self.each_kind(check)

    def test_name_of_non_utf8_bytes_is_used_as_data(self):
        """Bytes that are not UTF-8 (but no control byte) make a legal Linux file name:
        written as given, and printed on stdout as those bytes."""
        outdir = self.make_dir()
        self.check_accepted(self.run_args(outdir, **{"--name": b"\xff\xfe.{ext}"}), outdir, b"\xff\xfe.csv")

    def test_option_plugin_dir(self):
        """--plugin-dir is a directory searched first; empty is refused, and so is a relative
        one (a plugin directory must be absolute and trusted, see test_signals_trust)."""
        def check(kind, value):
            outdir = self.make_dir()
            if kind == "empty":
                self.check_rejected(self.run_args(outdir, **{"--plugin-dir": value}), 64,
                                    [b"empty --plugin-dir"], outdir=outdir)
            else:  # every kind is a relative path: refused, like ssh's StrictModes would
                self.check_rejected(self.run_args(outdir, **{"--plugin-dir": value}), 78,
                                    [quote(value), b"is relative"], outdir=outdir)
        self.each_kind(check)

    def test_option_run_id_of_export(self):
        def check(kind, value):
            outdir = self.make_dir()
            self.check_rejected(["export", "--run-id", value, "--output-dir", outdir], 64,
                                [quote(value)], outdir=outdir)
        self.each_kind(check)

    def test_option_connect(self):
        """--connect is handed to the driver manager: refused as configuration (78), or as
        too long (64); the message shows it redacted with unsafe bytes escaped."""
        def check(kind, value):
            outdir = self.make_dir()
            if kind == "overlong":
                self.check_rejected(["--connect", value, *self.run_args(outdir)], 64,
                                    [b"connection string is longer than"], connect=None, outdir=outdir)
                return
            self.check_rejected(["--connect", value, *self.run_args(outdir)], 78,
                                [quote(value)[1:-1]], connect=None, outdir=outdir)
        self.each_kind(check)

    def test_option_dsn(self):
        def check(kind, value):
            outdir = self.make_dir()
            if kind == "overlong":
                self.check_rejected(["--dsn", value, *self.run_args(outdir)], 64,
                                    [b"connection string is longer than"], connect=None, outdir=outdir)
                return
            self.check_rejected(["--dsn", value, *self.run_args(outdir)], 78,
                                [b"DSN=" + quote(value)[1:-1] + b";", b"IM002"], connect=None,
                                outdir=outdir)
        self.each_kind(check)

    def test_option_config(self):
        def check(kind, value):
            outdir = self.make_dir()
            if kind == "empty":
                self.check_rejected(["--config", value, *self.run_args(outdir)], 64,
                                    [b"empty --config"], outdir=outdir)
                return
            # core/config.c prints the path raw: see test_config_messages_quote_unsafe_bytes
            self.check_rejected(["--config", value, *self.run_args(outdir)], 78,
                                [b"cannot read the configuration file"], outdir=outdir,
                                safe=kind not in ("non_utf8", "overlong"))
        self.each_kind(check)

    def test_principal_with_sql_after_a_valid_uuid(self):
        """A valid principal followed by SQL, or a second hostile list item: refused whole."""
        outdir = self.make_dir()
        for value in (f"USER:{ALICE}'; DROP TABLE dyno_crm.deal; --", f"USER:{ALICE},{INJECTION}",
                      f"USER:{ALICE} OR 1=1"):
            with self.subTest(value=value):
                self.check_rejected(self.run_args(outdir, **{"--principal": value}), 64, [b"--principal"],
                                    outdir=outdir)


class NameTemplateTests(HostileTestCase):
    """Templates that would leave the output directory, or are not one plain name: 64."""

    CASES = [
        b"..", b".", b"../x.{ext}", b"../../etc/passwd", b"a/b.{ext}", b"/tmp/x.{ext}",
        b"/etc/cron.d/x", b"{tenant}/../x.{ext}", b"x/..", b".hidden.{ext}", b"a\\b.{ext}",
        b"x\x01y.{ext}", b"x\ny.{ext}", b"x\x7f.{ext}", b"{unknown}.{ext}", b"{report", b"report}",
    ]

    def test_escaping_or_malformed_templates_refused(self):
        for tmpl in self.CASES:
            with self.subTest(template=tmpl):
                parent = self.make_dir()
                outdir = os.path.join(parent, "out")
                os.mkdir(outdir)
                self.check_rejected(self.run_args(outdir, **{"--name": tmpl}), 64, [quote(tmpl)],
                                    outdir=outdir)
                self.assertEqual(os.listdir(parent), ["out"])

    def test_escaping_templates_refused_from_config(self):
        for tmpl in (b"../{ext}", b"/tmp/x.{ext}", b"a/b.{ext}", b".."):
            with self.subTest(template=tmpl):
                outdir = self.make_dir()
                cfg = os.path.join(self.make_dir(), "c.conf")
                with open(cfg, "wb") as f:
                    f.write(b"[defaults]\nname = " + tmpl + b"\n")
                self.check_rejected(["--config", cfg, *self.run_args(outdir)], 64, [quote(tmpl)],
                                    outdir=outdir)

    def test_nul_in_config_value_ends_the_value(self):
        """argv cannot carry a NUL; in the configuration file the INI reader (C strings)
        ends the value at the NUL, so "{report}\\0/../../x" is the template "{report}": the
        file stays inside the output directory."""
        parent = self.make_dir()
        outdir = os.path.join(parent, "out")
        os.mkdir(outdir)
        cfg = os.path.join(self.make_dir(), "c.conf")
        with open(cfg, "wb") as f:
            f.write(b"[defaults]\nname = {report}\x00/../../escaped.{ext}\n")
        self.check_accepted(["--config", cfg, *self.run_args(outdir)], outdir, b"rep_performance")
        self.assertEqual(os.listdir(parent), ["out"])


CONFIG_KEYS = [
    # section, key, what each kind gives: (exit code, texts) or "accepted" or "unsafe"
    ("defaults", "tz"), ("defaults", "formats"), ("defaults", "output_dir"), ("defaults", "name"),
    ("defaults", "plugin_dir"), ("defaults", "opt"), ("connection", "connect"),
    ("connection", "dsn"), ("connection", "password_file"),
]


def config_expectation(section, key, kind, value):
    """What the tool does with VALUE of KEY: ("rejected", code, texts, safe) or
    ("accepted", file name)."""
    q = quote(value)
    if kind == "overlong":
        # longer than the reader's 65536-byte lines: refused, naming file and line; see
        # test_config_line_longer_than_the_reader_buffer
        return ("rejected", 78, [b"the line is longer than"], True)
    if kind == "empty":
        if key == "opt":
            return ("rejected", 78, [b"key 'opt' has value ''"], True)
        if section == "defaults":
            return ("rejected", 78, [f"key '{key}' is empty".encode()], True)
        return ("rejected", 78, [], True)
    if key == "tz":
        return ("rejected", 64, [q], True)
    if key == "formats":
        if kind == "non_utf8":  # printed raw: test_option_format_unsafe_bytes_quoted
            return ("rejected", 64, [], False)
        return ("rejected", 64, [b"'42'" if kind == "wrong_type" else q], True)
    if key == "output_dir":
        return ("rejected", 73, [q], True)
    if key == "name":
        if kind == "non_utf8":  # it holds an ESC: a control byte is refused in a file name
            return ("rejected", 64, [q], True)
        return ("accepted", value)
    if key == "plugin_dir":
        return ("rejected", 78, [q, b"is relative"], True)
    if key == "opt":
        return ("rejected", 78, [b"expected PLUGIN.KEY=VALUE"], kind != "non_utf8")
    if key in ("connect", "dsn"):
        return ("rejected", 78, [q[1:-1]], True)
    if key == "password_file":
        return ("rejected", 78, [b"cannot read the password file"], kind != "non_utf8")
    raise AssertionError(key)


class ConfigFileTests(HostileTestCase):
    """Every key of the configuration file with every hostile kind (1 MiB for overlong)."""

    def write_config(self, text):
        path = os.path.join(self.make_dir(), "dynoreport.conf")
        with open(path, "wb") as f:
            f.write(text)
        return path

    def check_key(self, section, key):
        for kind, value in CONFIG_KINDS.items():
            with self.subTest(kind=kind):
                outdir = self.make_dir()
                cfg = self.write_config(b"[%s]\n%s = %s\n" % (section.encode(), key.encode(), value))
                # [connection] values are only used when the command line gives no connection
                connect = None if section == "connection" else "default"
                # output_dir from the file: no --output-dir (relative values resolve in
                # the empty working directory run_raw gives the tool)
                args = ["--config", cfg, *self.run_args(OMIT if key == "output_dir" else outdir)]
                if key == "password_file":
                    connect = "default"
                expect = config_expectation(section, key, kind, value)
                if expect[0] == "accepted":
                    self.check_accepted(args, outdir, expect[1], connect=connect)
                else:
                    _, code, texts, safe = expect
                    self.check_rejected(args, code, texts, connect=connect, safe=safe, outdir=outdir)

    def test_config_defaults_tz(self):
        self.check_key("defaults", "tz")

    def test_config_defaults_formats(self):
        self.check_key("defaults", "formats")

    def test_config_defaults_output_dir(self):
        self.check_key("defaults", "output_dir")

    def test_config_defaults_name(self):
        self.check_key("defaults", "name")

    def test_config_defaults_plugin_dir(self):
        self.check_key("defaults", "plugin_dir")

    def test_config_defaults_opt(self):
        self.check_key("defaults", "opt")

    def test_config_connection_connect(self):
        self.check_key("connection", "connect")

    def test_config_connection_dsn(self):
        self.check_key("connection", "dsn")

    def test_config_connection_password_file(self):
        self.check_key("connection", "password_file")

    def test_config_formats_without_a_format(self):
        outdir = self.make_dir()
        cfg = self.write_config(b"[defaults]\nformats = , ,\n")
        self.check_rejected(["--config", cfg, *self.run_args(outdir)], 78, [b"'formats' has no format"],
                            outdir=outdir)

    def test_config_unknown_keys_and_sections(self):
        for text, needle in ((b"[defaults]\n" + INJECTION.encode() + b" = 1\n", quote(INJECTION.encode())),
                             (b"[" + INJECTION.encode() + b"]\nx = 1\n", b"unknown section"),
                             (b"[defaults]\nconnect = x\n", b"unknown key 'connect'"),
                             (b"[defaults]\ntz = UTC\ntz = UTC\n", b"set twice"),
                             (b"[defaults\ntz = UTC\n", b""),
                             (b"tz = UTC\n", b"")):
            with self.subTest(config=text[:40]):
                outdir = self.make_dir()
                cfg = self.write_config(text)
                self.check_rejected(["--config", cfg, *self.run_args(outdir)], 78, [cfg.encode(), needle],
                                    outdir=outdir)

    def test_config_messages_quote_unsafe_bytes(self):
        bad = KINDS["non_utf8"]
        for text in (b"[defaults]\n" + bad + b" = 1\n", b"[" + bad + b"]\nx = 1\n",
                     b"[defaults]\nopt = " + bad + b"\n", b"[connection]\npassword_file = " + bad + b"\n"):
            outdir = self.make_dir()
            cfg = self.write_config(text)
            self.check_rejected(["--config", cfg, *self.run_args(outdir)], 78, [quote(bad)], outdir=outdir)
        outdir = self.make_dir()
        self.check_rejected(["--config", bad, *self.run_args(outdir)], 78, [quote(bad)], outdir=outdir)

    def test_config_line_longer_than_the_reader_buffer(self):
        """A line longer than the reader takes (65536 bytes) is refused as one line, naming
        file and line; libinih's 200-byte buffer once split a 250-byte line and parsed its
        tail ('tz = Mars/Olympus') as a line of its own. A 250-byte line is now one value
        (test_secrets.LongLineTests), so the tail can only ever be part of the value."""
        value = b"a" * 65536 + b"tz = Mars/Olympus"
        outdir = self.make_dir()
        cfg = self.write_config(b"[defaults]\nname = " + value + b".{ext}\n")
        rc, out, err = run_raw(["--config", cfg, *self.run_args(outdir)], self.db.odbc)
        self.assertNotIn(b"Mars/Olympus", err, "the tail of a long line was read as a key")
        self.assertEqual(rc, 78, err)
        self.assertIn(b"dynoreport.conf:2: the line is longer than", err)


class CsvFormulaTests(unittest.TestCase):
    """Text cells starting with = + - @ TAB CR are escaped by the CSV plugin (a leading ');
    numbers never are. The only text column of the report (principal_type) is always USER or
    GROUP, so the cells are fed straight to the built csv.so by a host compiled here with
    nothing but the public SDK header (like a third-party host would)."""

    DRIVER = r"""
#include <dynoreport/plugin.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
static void logf_(void *c, dr_log_level l, const char *m) { (void)c; (void)l; fprintf(stderr, "%s\n", m); }
int main(int argc, char **argv)
{
    /* argv: plugin.so out.csv escape(true|false) text... */
    void *dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!dl) { fprintf(stderr, "%s\n", dlerror()); return 2; }
    dr_plugin_entry_fn entry; void *sym = dlsym(dl, DR_PLUGIN_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry);
    const dr_plugin *p = entry();
    static const dr_column cols[] = {{"label", "Label", DR_TYPE_TEXT, 0},
                                     {"amount", "Amount", DR_TYPE_DECIMAL, 2}};
    dr_run_info run = {DR_PLUGIN_ABI_MAJOR, sizeof run, "rep_performance",
        "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "2026-10",
        "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", "UTC", "2026-11-01T00:00:00Z", "all", "0"};
    dr_option opt = {"formula_escape", argv[3]};
    char errbuf[512] = "";
    FILE *t = fopen(argv[2], "wb"); if (t) fclose(t);
    dr_open_args a = {DR_PLUGIN_ABI_MAJOR, sizeof a, &run, cols, 2, argv[2], &opt, 1, logf_, NULL,
                      errbuf, sizeof errbuf};
    void *h = NULL;
    if (p->open(&a, &h) != DR_PLUGIN_OK) { fprintf(stderr, "open: %s\n", errbuf); return 1; }
    for (int i = 4; i < argc; i++) {
        dr_value v[2] = {{0}};
        v[0].text = argv[i]; v[0].len = strlen(argv[i]);
        v[1].text = "-42.50"; v[1].len = 6; v[1].f64 = -42.5;
        if (p->row(h, v) != DR_PLUGIN_OK) { fprintf(stderr, "row: %s\n", errbuf); return 1; }
    }
    int rc = p->end(h) != DR_PLUGIN_OK;
    p->destroy(h);
    return rc;
}
"""
    STARTS = ["=", "+", "-", "@", "\t", "\r"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plugin = os.path.join(os.environ.get("DYNOREPORT_BUILD_PLUGIN_DIR", ""), "csv.so")
        if not os.path.isfile(cls.plugin) or not os.environ.get("DYNOREPORT_CSVDUMP"):
            raise AssertionError("DYNOREPORT_BUILD_PLUGIN_DIR (csv.so) and DYNOREPORT_CSVDUMP are needed"
                                 " (run via ctest)")
        cls.tmp = tempfile.mkdtemp(prefix="drtest-csvcells-")
        src = os.path.join(cls.tmp, "host.c")
        with open(src, "w") as f:
            f.write(cls.DRIVER)
        cls.host = os.path.join(cls.tmp, "host")
        flags = []
        ldd = subprocess.run(["ldd", cls.plugin], capture_output=True, text=True).stdout
        if "libasan" in ldd:  # a sanitizer build: the host needs the same runtime first
            flags = ["-fsanitize=address,undefined"]
        cc = shutil.which("cc") or shutil.which("gcc")
        p = subprocess.run([cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", *flags,
                            "-I", os.path.join(drtest.REPO_ROOT, "include"), src, "-o", cls.host, "-ldl"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"compiling the test host failed: {p.stderr}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)
        super().tearDownClass()

    def feed(self, escape, cells):
        out = os.path.join(self.tmp, f"cells-{escape}.csv")
        p = subprocess.run([self.host, self.plugin, out, escape, *cells], capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        _, records = drtest.read_csv(out)
        self.assertEqual(records[0], ["label", "amount"])
        return records[1:]

    def test_formula_starts_escaped_numbers_untouched(self):
        cells = [c + "cmd|' /C calc'!A0" for c in self.STARTS] + ["-1", "plain", "a=b", " =1"]
        records = self.feed("true", cells)
        self.assertEqual(len(records), len(cells))
        for cell, (label, amount) in zip(cells, records):
            with self.subTest(cell=cell):
                want = "'" + cell if cell[0] in "=+-@\t\r" else cell
                self.assertEqual(label, want)
                self.assertEqual(amount, "-42.50", "a number is never escaped")

    def test_formula_escape_off_keeps_text(self):
        cells = [c + "1+1" for c in self.STARTS]
        self.assertEqual([r[0] for r in self.feed("false", cells)], cells)


class PeriodLabelTests(unittest.TestCase):
    """Found by tests/fuzz/fuzz_period: dr_period.label (core/period.h) has 16 bytes, and
    strcpy of "previous-quarter" (16 characters) writes its NUL past the array. Harmless by
    luck in the default build (struct padding), but a build with -D_FORTIFY_SOURCE=2 (as
    Debian's dpkg-buildflags and most distributions use) aborts with "buffer overflow
    detected" on `--period previous-quarter`."""

    MAIN = r"""
#include <stdio.h>
#include "period.h"
int main(int argc, char **argv)
{
    dr_period p;
    dr_error e = {0};
    (void)argc;
    if (dr_period_parse(argv[1], &p, &e) != DR_OK) { fprintf(stderr, "%s\n", e.msg); return 1; }
    printf("%s\n", p.label);
    return 0;
}
"""

    def test_previous_quarter_in_a_fortify_source_build(self):
        core = os.path.join(drtest.REPO_ROOT, "core")
        with tempfile.TemporaryDirectory(prefix="drtest-fortify-") as tmp:
            src = os.path.join(tmp, "main.c")
            with open(src, "w") as f:
                f.write(self.MAIN)
            exe = os.path.join(tmp, "period_fortified")
            cc = shutil.which("cc") or shutil.which("gcc")
            p = subprocess.run([cc, "-std=c11", "-O2", "-D_FORTIFY_SOURCE=2", "-D_POSIX_C_SOURCE=200809L",
                                "-I", core, "-I", os.path.join(drtest.REPO_ROOT, "include"), src,
                                os.path.join(core, "period.c"), os.path.join(core, "status.c"), "-o", exe],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            for spec in ("previous-month", "previous-quarter"):
                r = subprocess.run([exe, spec], capture_output=True, text=True, timeout=30)
                self.assertEqual((r.returncode, r.stdout), (0, spec + "\n"), r.stderr)


class SourceDataTests(drtest.ToolTestCase):
    """Source data at the limits of the fact table's types, and empty data."""

    U = "c0000000-0000-4000-8000-000000000001"
    WON = "d0000000-0000-4000-8000-000000000001"
    TENANTS = {
        "sum_overflow": "a1111111-1111-4111-8111-000000000001",
        "negative_sum_overflow": "a1111111-1111-4111-8111-000000000002",
        "amount_limits": "a1111111-1111-4111-8111-000000000003",
        "far_dates": "a1111111-1111-4111-8111-000000000004",
        "days_overflow": "a1111111-1111-4111-8111-000000000005",
        "null_owners": "a1111111-1111-4111-8111-000000000006",
        "no_deals": "a1111111-1111-4111-8111-000000000007",
        "lmt": "a1111111-1111-4111-8111-000000000008",
        "comparison_overflow": "a1111111-1111-4111-8111-000000000009",
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = drtest.fresh_database()
        cls.addClassCleanup(cls.db.drop)
        cls.db.execute_file(drtest.SOURCE_SCHEMA)
        t = cls.TENANTS
        deal = ("INSERT INTO dyno_crm.deal (id, tenant_id, amount, created_at, owned_by_user_id)"
                " SELECT gen_random_uuid(), %s, %s, %s, %s FROM generate_series(1, %s)")
        rows = [
            (t["sum_overflow"], "999999999999.99", "2026-03-02T00:00:00Z", cls.U, 3),
            (t["negative_sum_overflow"], "-999999999999.99", "2026-03-02T00:00:00Z", cls.U, 2),
            (t["amount_limits"], "999999999999.99", "2026-03-02T00:00:00Z", cls.U, 1),
            (t["amount_limits"], "-999999999999.99", "2026-03-02T00:00:00Z",
             "c0000000-0000-4000-8000-000000000002", 1),
            (t["far_dates"], "1.00", "1900-01-01T00:00:00Z", cls.U, 1),
            (t["days_overflow"], "1.00", "0001-01-01T00:00:00Z", cls.U, 1),
            (t["null_owners"], "5.00", "2026-03-02T00:00:00Z", None, 4),
            (t["lmt"], "1.00", "1899-12-31T23:40:28Z", cls.U, 1),  # midnight of 1900 in Amsterdam (LMT)
            # March is fine; February (the comparison period) overflows (won 2026-02-05, below)
            (t["comparison_overflow"], "999999999999.99", "2026-02-02T00:00:00Z", cls.U, 3),
            (t["comparison_overflow"], "1.00", "2026-03-02T00:00:00Z", cls.U, 1),
        ]
        conn = cls.db.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO dyno_crm.pipeline_stage (id, stage_state) VALUES (%s, 'DONE_SUCCESS')",
                            (cls.WON,))
                for r in rows:
                    cur.execute(deal, r)
                closes = {t["far_dates"]: "2200-01-01T00:00:00Z", t["days_overflow"]: "9999-12-31T00:00:00Z"}
                cur.execute("INSERT INTO dyno_crm.deal_pipeline_stage_state"
                            " (deal_id, tenant_id, pipeline_stage_id, entered_at, is_current)"
                            " SELECT id, tenant_id, %s, '2026-03-05T00:00:00Z', true FROM dyno_crm.deal",
                            (cls.WON,))
                for tenant, ts in closes.items():
                    cur.execute("UPDATE dyno_crm.deal_pipeline_stage_state SET entered_at = %s"
                                " WHERE tenant_id = %s", (ts, tenant))
                cur.execute("UPDATE dyno_crm.deal_pipeline_stage_state s SET entered_at = '2026-02-05T00:00:00Z'"
                            " FROM dyno_crm.deal d WHERE d.id = s.deal_id AND d.tenant_id = %s"
                            " AND d.created_at < '2026-03-01T00:00:00Z'", (t["comparison_overflow"],))
        finally:
            conn.close()
        rc, out, err = drtest.run_tool(["db", "init"], connect=cls.db.odbc)
        if rc != 0:
            raise AssertionError(f"db init failed ({rc}): {err}")

    def run_tenant(self, key, period=("--period", "2026-03"), tz="UTC", formats="csv"):
        outdir = self.make_dir()
        before = drtest.report_rows(self.db)
        rc, out, err = drtest.run_tool(["run", "--tenant", self.TENANTS[key], "--all-principals", *period,
                                        "--tz", tz, "--format", formats, "--output-dir", outdir],
                                       connect=self.db.odbc)
        return rc, out, err, outdir, before

    def check_fails_cleanly(self, key, texts, period=("--period", "2026-03")):
        rc, out, err, outdir, before = self.run_tenant(key, period)
        self.assertEqual(rc, 65, err)
        self.assertEqual(out, "")
        for text in texts:
            self.assertIn(text, err)
        self.assert_dir_empty(outdir)
        self.assert_nothing_saved(self.db, before)

    def test_sum_of_amounts_overflows_numeric_14_2(self):
        """Three won deals of 999 999 999 999.99 for one principal: the sum does not fit
        total_amount_won numeric(14,2): exit 65 (bad input data), nothing saved."""
        self.check_fails_cleanly("sum_overflow", ["precision 14, scale 2", "22003", "nothing was saved"])

    def test_negative_sum_overflows_numeric_14_2(self):
        self.check_fails_cleanly("negative_sum_overflow", ["precision 14, scale 2", "22003"])

    def test_amounts_at_the_limits_are_exact(self):
        rc, out, err, outdir, before = self.run_tenant("amount_limits", formats="csv,json")
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=2)
        _, records = drtest.read_csv(next(p for p in paths if p.endswith(".csv")))
        self.assertEqual(sorted(r[9:11] for r in records[1:]),
                         [["-999999999999.99", "-999999999999.99"], ["999999999999.99", "999999999999.99"]])
        with open(next(p for p in paths if p.endswith(".json")), encoding="utf-8") as f:
            text = f.read()
        self.assertIn('"total_amount_won":999999999999.99', text.replace(" ", ""))

    def test_far_past_and_future_timestamps(self):
        """Created 1900-01-01, closed 2200-01-01: 109573 days fits numeric(10,4)."""
        rc, out, err, outdir, before = self.run_tenant(
            "far_dates", period=("--from", "1900-01-01", "--to", "2200-01-02"))
        run_id, paths = self.assert_run_ok(rc, out, err)
        _, records = drtest.read_csv(paths[0])
        self.assertEqual(records[1][4:6], ["1900-01-01T00:00:00+00:00", "2200-01-02T00:00:00+00:00"])
        self.assertEqual(records[1][6:], ["1", "1", "0", "1.00", "1.00", "109573.0000", "1.0000"])

    def test_days_to_close_overflows_numeric_10_4(self):
        """Created year 1, closed year 9999: 3.65 million days do not fit
        avg_time_to_close_days numeric(10,4): exit 65, nothing saved."""
        self.check_fails_cleanly("days_overflow", ["precision 10, scale 4", "22003"],
                                 period=("--from", "0001-01-01", "--to", "9999-12-31T23:59:59"))

    def test_comparison_period_overflowing_is_dropped_with_a_warning(self):
        """March fits; February, the default comparison period, sums to 3 x 999 999 999 999.99:
        the run is made without its comparison (a warning naming the overflow), exit 0, the
        run's own rows complete, no comparison run stored, the view says 'none'."""
        rc, out, err, outdir, before = self.run_tenant("comparison_overflow")
        run_id, paths = self.assert_run_ok(rc, out, err)
        self.assert_one_new_run(self.db, before, run_id)
        self.assertIsNone(drtest.comparison_of(self.db, run_id), "a comparison run was stored")
        self.assertEqual(self.db.query("SELECT compare, compare_title FROM dyno_crm.report_run_view"
                                       " WHERE run_id = %s", (run_id,)), [("none", "")])
        _, records = drtest.read_csv(paths[0])
        self.assertEqual([r[3] for r in records[1:]], [self.U])
        self.assertEqual(records[1][6:10], ["1", "1", "0", "1.00"])
        self.assertEqual(drtest.count_run_facts(self.db, run_id), 1)
        # one warning (docs/metrics.md: "a warning says why"), which must not deny the save
        (line,) = [x for x in err.splitlines() if "without its comparison period" in x]
        self.assertIn("precision 14, scale 2", line)
        self.assertTrue(line.startswith("dynoreport: warning: "), f"not marked as a warning: {line!r}")
        self.assertNotIn("nothing was saved", line, "the run itself was saved: the warning must not deny it")

    def check_empty_report(self, key):
        rc, out, err, outdir, before = self.run_tenant(key, formats="csv,json")
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=2)
        _, records = drtest.read_csv(next(p for p in paths if p.endswith(".csv")))
        self.assertEqual(records, [reference.COLUMNS], "a header and no rows")
        self.assert_one_new_run(self.db, before, run_id)  # an empty run is a complete run
        self.assertEqual(drtest.count_run_facts(self.db, run_id), 0)

    def test_null_owners_everywhere(self):
        """Deals attributed to nobody: --all-principals gives a header-only file, exit 0."""
        self.check_empty_report("null_owners")

    def test_tenant_without_deals(self):
        self.check_empty_report("no_deals")

    def test_lmt_period_boundary_keeps_its_seconds(self):
        """Europe/Amsterdam in 1900 was UTC+00:19:32. The period starts at local midnight,
        1899-12-31T23:40:28Z, where the deal was created; the boundary goes through text as
        ...+00:19 and comes back 32 s late, so the deal falls out of the report."""
        rc, out, err, outdir, before = self.run_tenant(
            "lmt", period=("--from", "1900-01-01", "--to", "1900-01-02"), tz="Europe/Amsterdam")
        run_id, paths = self.assert_run_ok(rc, out, err)
        _, records = drtest.read_csv(paths[0])
        self.assertEqual(len(records), 2, "the deal created at the period's first instant is missing")


if __name__ == "__main__":
    unittest.main()
