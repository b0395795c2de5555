"""The documentation of the command line and the configuration keeps up with the code.
No database needed.

The options a command accepts are read from the source, not from a list kept here: every
getopt_long table (`{"name", required_argument, ...}` entries, and the macros such as
OUTPUT_LONGOPTS they include), the optstring's short letters, and `"--name"` literals a
command compares argv with (job), in each function of core/*.c, attributed to the
commands of the `commands[]` table in core/main.c through the functions each command's
function calls. Then, per command:

  - every option it accepts is in `dynoreport CMD --help` and defined in its section of
    docs/man/dynoreport.1.scd (a line starting with *--option*; the shared output
    options in the "Output options" section, for a command whose section says it takes
    them), and the other way round: every option `--help` shows (but a global one, which
    comes before the command) and every option a section defines is one the command
    accepts; every option named anywhere in the page is accepted by some command;
  - every command has its section, and appears in the top-level --help.

`--help` / `-h` itself is exempt from the per-command lists (a help text need not list
itself); the page defines it once among the global options.

The configuration keys are read from core/config.c the same way (the [connection] and
[names] comparisons, the settings table of [defaults] and [job NAME] with the keys
set_setting() compares itself, the delivery_keys table of [delivery NAME] with the keys
delivery_key() compares itself) and checked against the sections of
docs/man/dynoreport.conf.5.scd, both ways.

So an option or key added without its documentation (or documentation of one that does
not exist) fails here.
"""
import os
import re
import unittest

import drtest

CORE = os.path.join(drtest.REPO_ROOT, "core")
MAN = os.path.join(drtest.REPO_ROOT, "docs", "man")
HELP_OPTS = {"--help", "-h"}
OPTION_TOKEN = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def core_sources():
    """{file name: text} of core/*.c and core/*.h."""
    return {n: read(os.path.join(CORE, n)) for n in sorted(os.listdir(CORE)) if n.endswith((".c", ".h"))}


def option_macros(sources):
    """{macro name: set of long options} for the #define's that hold option entries."""
    macros = {}
    for text in sources.values():
        for m in re.finditer(r"^#define\s+(\w+)\s*((?:.*\\\n)*.*)$", text, re.M):
            names = re.findall(r'\{"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', m.group(2))
            if names:
                macros[m.group(1)] = {"--" + n for n in names}
    return macros


def functions(sources):
    """{function name: body} of every function defined at the top level of core/*.c."""
    out = {}
    for name, text in sources.items():
        if not name.endswith(".c"):
            continue
        for m in re.finditer(r"^[A-Za-z_][\w \*]*?\b(\w+)\([^;{}]*\)\s*\{\n(.*?)^\}", text, re.M | re.S):
            out[m.group(1)] = m.group(2)
    return out


def own_options(body, macros):
    """The long and short options a function's own code accepts."""
    opts = {"--" + n for n in re.findall(r'\{"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', body)}
    for macro, names in macros.items():
        if re.search(r"\b%s\b" % macro, body):
            opts |= names
    opts |= set(re.findall(r'strcmp\([^,]+,\s*"(--?[a-z][a-z0-9-]*)"\)', body))
    for optstring in re.findall(r'getopt_long\([^,]+,[^,]+,\s*"([^"]*)"', body):
        opts |= {"-" + c for c in optstring if c.isalpha()}
    return opts


def command_options():
    """{command: accepted options}, with "" for the global options."""
    sources = core_sources()
    macros = option_macros(sources)
    funcs = functions(sources)
    table = re.search(r"dr_command commands\[\] = \{(.*?)\n\};", sources["main.c"], re.S)
    assert table, "core/main.c: no commands[] table found"
    commands = dict(re.findall(r'\{"([a-z][a-z-]*)",\s*(\w+),', table.group(1)))
    assert commands, "core/main.c: commands[] holds no command"

    def reachable(fn, seen):
        if fn in seen or fn not in funcs:
            return set()
        seen.add(fn)
        opts = own_options(funcs[fn], macros)
        for callee in set(re.findall(r"\b(\w+)\s*\(", funcs[fn])):
            opts |= reachable(callee, seen)
        return opts

    result = {cmd: reachable(fn, set()) for cmd, fn in commands.items()}
    assert "parse_global" in funcs, "core/main.c: parse_global not found"
    result[""] = reachable("parse_global", set())
    return result


def man_sections(path, level):
    """{heading: text} of the headings of @p level ('#' or '##') in an scdoc page."""
    text = read(path)
    parts = re.split(r"^%s (.+)$" % re.escape(level), text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def defined(section_text, token):
    """The options (or keys) defined in a section: every *x* on a line that starts with one."""
    out = set()
    for line in section_text.splitlines():
        if line.startswith("*"):
            out |= set(re.findall(token, line))
    return out


def prose_and_own_commands(text):
    """The page without its scdoc comments (';' lines) and without the lines of example
    blocks that run other programs (systemctl --now): what names dynoreport's options."""
    keep, in_block, continued = [], False, False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if line.startswith(";"):
            continue
        if in_block:
            ours = continued or re.match(r"\s*dynoreport\s", line) is not None
            continued = ours and line.rstrip().endswith("\\")
            if not ours:
                continue
        keep.append(line)
    return "\n".join(keep)


class CommandLineDocumentation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.accepted = command_options()
        cls.page = os.path.join(MAN, "dynoreport.1.scd")
        cls.text = read(cls.page)
        top = man_sections(cls.page, "#")
        cls.sections = man_sections(cls.page, "##")
        cls.global_defined = defined(top["GLOBAL OPTIONS"], r"\*(--?[a-z][a-z0-9-]*)\*")

    def help_of(self, cmd):
        rc, out, err = drtest.run_tool(([cmd] if cmd else []) + ["--help"], plugin_path=False)
        self.assertEqual(rc, 0, f"dynoreport {cmd} --help: exit {rc}: {err}")
        return out

    def test_source_parse_found_the_commands(self):
        # a change of main.c's layout must not make the other tests vacuous
        self.assertIn("run", self.accepted)
        self.assertIn("--tenant", self.accepted["run"])
        self.assertIn("--format", self.accepted["export"], "OUTPUT_LONGOPTS not expanded")
        self.assertIn("--with-source-indexes", self.accepted["db"])
        self.assertIn("--help", self.accepted["job"], "job's strcmp options not found")
        self.assertIn("-v", self.accepted[""])

    def test_help_lists_every_option_and_no_other(self):
        for cmd, opts in self.accepted.items():
            with self.subTest(command=cmd or "(global)"):
                out = self.help_of(cmd)
                shown = set(OPTION_TOKEN.findall(out))
                missing = {o for o in opts - HELP_OPTS if o not in shown and not (
                    o.startswith("-") and not o.startswith("--") and re.search(r"(?<![\w-])%s\b" % o, out))}
                self.assertFalse(missing, f"dynoreport {cmd} --help does not show {sorted(missing)}")
                if cmd:  # it may name a global option (config check: where its file comes from)
                    unknown = shown - opts - self.accepted[""]
                else:  # the top-level help also shows the commands' synopses
                    unknown = shown - set().union(*self.accepted.values())
                self.assertFalse(unknown, f"dynoreport {cmd} --help shows {sorted(unknown)}, not accepted")

    def test_top_level_help_lists_every_command(self):
        out = self.help_of("")
        for cmd in (c for c in self.accepted if c):
            self.assertRegex(out, r"(?m)^  %s\b" % re.escape(cmd))

    def test_man_page_defines_every_option_under_its_command(self):
        output_defined = defined(self.sections.get("Output options", ""), r"\*(--[a-z][a-z0-9-]*)\*")
        for cmd, opts in self.accepted.items():
            with self.subTest(command=cmd or "(global)"):
                if not cmd:
                    here = self.global_defined
                else:
                    self.assertIn(cmd, self.sections, f"dynoreport.1.scd has no '## {cmd}' section")
                    here = defined(self.sections[cmd], r"\*(--[a-z][a-z0-9-]*)\*")
                    if "output options" in self.sections[cmd].lower():
                        here = here | output_defined
                missing = {o for o in opts - HELP_OPTS if o.startswith("--") or not cmd} - here
                self.assertFalse(missing, f"dynoreport.1.scd does not define {sorted(missing)} for '{cmd}'")
                extra = here - opts - HELP_OPTS
                self.assertFalse(extra, f"dynoreport.1.scd defines {sorted(extra)} for '{cmd}', not accepted")
        self.assertIn("--help", self.global_defined)

    def test_man_page_names_no_option_that_does_not_exist(self):
        every = set().union(*self.accepted.values())
        unknown = set(OPTION_TOKEN.findall(prose_and_own_commands(self.text))) - every
        self.assertFalse(unknown, f"dynoreport.1.scd names options no command accepts: {sorted(unknown)}")


def config_keys():
    """{section: keys} accepted by core/config.c."""
    text = read(os.path.join(CORE, "config.c"))

    def block(start, end):
        a, b = text.index(start), text.index(end)
        return set(re.findall(r'strcmp\(name, "([a-z_]+)"\)', text[a:b]))

    def compared_keys(function):
        """The keys a function of config.c compares with strcmp(key, "...") itself."""
        m = re.search(r"^static \w+ %s\(.*?^\}" % function, text, re.M | re.S)
        assert m, f"core/config.c: {function}() not found"
        return set(re.findall(r'strcmp\(key, "([a-z_]+)"\)', m.group(0)))

    conn = block('strcmp(section, "connection")', 'strcmp(section, "defaults")')
    names = block('strcmp(section, "names")', 'strncmp(section, "job "')
    table = re.findall(r'\{"([a-z_]+)", &s->\w+, ([01])\}', text)
    delivery = set(re.findall(r'\[DR_DK_\w+\] = "([a-z_]+)"', text))
    assert conn and names and table and delivery, "core/config.c: key tables not found"
    extra = compared_keys("set_setting")  # opt, deliver
    defaults = {k for k, job_only in table if job_only == "0"} | extra
    job = {k for k, _ in table} | extra
    delivery |= compared_keys("delivery_key")  # option
    return {"[connection]": conn, "[defaults]": defaults, "[names]": names, "[job NAME]": job,
            "[delivery NAME]": delivery}


class ConfigurationDocumentation(unittest.TestCase):
    def test_every_key_is_defined_in_its_section_and_no_other(self):
        sections = man_sections(os.path.join(MAN, "dynoreport.conf.5.scd"), "#")
        for section, keys in config_keys().items():
            with self.subTest(section=section):
                self.assertIn(section, sections, f"dynoreport.conf.5.scd has no '# {section}' section")
                here = defined(sections[section], r"\*([a-z_]+)\*")
                self.assertFalse(keys - here, f"dynoreport.conf.5.scd does not define {sorted(keys - here)} "
                                 f"in {section}")
                self.assertFalse(here - keys, f"dynoreport.conf.5.scd defines {sorted(here - keys)} in "
                                 f"{section}, which core/config.c does not accept")


if __name__ == "__main__":
    unittest.main()
