"""The bash completion (packaging/completion/dynoreport.bash.in) keeps up with the code.
No database needed.

The script is configured here as CMake would (the plugin directory is the build's, which
holds the formats and the delivery-only mail.so and sftp.so; the default configuration
file a temporary one) and run by a real bash, as `complete -F` runs it. What it offers
is compared with what the source accepts, read by test_manpages.command_options() from
the getopt tables of core/*.c: the commands of main.c's table, the global options, and
every long option of each command (for runs: of list, show and prune together). The one
option completion leaves out on purpose is deliver's --output-dir, which deliver refuses.
Then the values: --format offers the formats (files with a dr_plugin_entry), not the
delivery plugins; run --deliver and deliver --to offer the [delivery NAME] sections of
the configuration in use (the last item of a comma list); job offers the [job NAME]s.
"""
import os
import subprocess
import tempfile
import unittest

import drtest
import test_manpages

SCRIPT = os.path.join(drtest.REPO_ROOT, "packaging", "completion", "dynoreport.bash.in")
# what completion leaves out of what the source accepts, on purpose
NOT_OFFERED = {"deliver": {"--output-dir"}}

CONFIG = """[defaults]
deliver = managers

[job monthly-all]
tenant = all
principals = all
period = previous-month

[delivery managers]
kind = mail
url = smtp://mail.example.com:587
from = reports@example.com
recipients = boss@example.com

[delivery drop.sftp]
kind = dir
"""


class Completion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        plugin_dir = os.environ.get("DYNOREPORT_BUILD_PLUGIN_DIR")
        if not plugin_dir:
            raise AssertionError("DYNOREPORT_BUILD_PLUGIN_DIR is not set (run through ctest)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="dr-completion-")
        conf_dir = os.path.join(cls.tmp.name, "etc")
        os.mkdir(conf_dir)
        cls.config = os.path.join(conf_dir, "dynoreport.conf")
        with open(cls.config, "w", encoding="utf-8") as f:
            f.write(CONFIG)
        with open(SCRIPT, encoding="utf-8") as f:
            text = f.read()
        cls.script = os.path.join(cls.tmp.name, "dynoreport.bash")
        with open(cls.script, "w", encoding="utf-8") as f:
            f.write(text.replace("@DR_PLUGIN_INSTALL_DIR@", plugin_dir)
                    .replace("@DR_CONF_INSTALL_DIR@", conf_dir))
        cls.accepted = test_manpages.command_options()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def complete(self, *words, env_extra=None):
        """What _dynoreport offers for the command line `dynoreport WORDS...` (the last
        word being completed), as a set."""
        driver = ('source "$1"; shift; COMP_WORDS=(dynoreport "$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
                  'COMPREPLY=(); _dynoreport; printf "%s\\n" "${COMPREPLY[@]}"')
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.tmp.name}
        env.update(env_extra or {})
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver, "_", self.script, *words],
                           env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stderr), (0, ""), f"completion of {words}")
        return {w for w in p.stdout.splitlines() if w}

    def test_commands_are_the_command_table(self):
        commands = {c for c in self.accepted if c}
        self.assertIn("runs", commands)
        self.assertEqual(self.complete(""), commands)
        self.assertEqual(self.complete("-q", "--config", self.config, ""), commands)

    def test_global_options_are_the_accepted_ones(self):
        self.assertEqual(self.complete("-"), self.accepted[""])

    def test_every_command_offers_its_long_options_and_no_other(self):
        contexts = {"db": [("db", "init")], "runs": [("runs", "list"), ("runs", "show"), ("runs", "prune")],
                    "config": [("config", "check")]}
        for cmd, opts in self.accepted.items():
            if not cmd:
                continue
            with self.subTest(command=cmd):
                offered = set()
                for words in contexts.get(cmd, [(cmd,)]):
                    offered |= self.complete(*words, "--")
                want = {o for o in opts if o.startswith("--")} - NOT_OFFERED.get(cmd, set())
                self.assertEqual(offered, want)

    def test_subcommand_words(self):
        self.assertEqual(self.complete("runs", ""), {"list", "show", "prune", "--help", "-h"})
        self.assertEqual(self.complete("config", ""), {"check", "--help", "-h"})
        self.assertEqual(self.complete("db", ""), {"init", "--help"})
        self.assertEqual(self.complete("runs", "prune", "--"),
                         {"--older-than", "--keep-last", "--tenant", "--dry-run", "--help"})
        self.assertEqual(self.complete("runs", "list", "--"),
                         {"--tenant", "--since", "--limit", "--no-header", "--help"})
        self.assertEqual(self.complete("runs", "prune", "--older-than", ""), set())

    def test_formats_are_the_format_plugins_only(self):
        plugin_dir = os.environ["DYNOREPORT_BUILD_PLUGIN_DIR"]
        self.assertTrue(os.path.exists(os.path.join(plugin_dir, "mail.so")), "no mail.so built: vacuous")
        self.assertEqual(self.complete("run", "--format", ""), {"csv", "json", "xlsx"})
        self.assertEqual(self.complete("export", "--format", "csv,x"), {"csv,xlsx"})
        self.assertEqual(self.complete("deliver", "--format", ""), {"csv", "json", "xlsx"})

    def test_destinations_come_from_the_configuration_in_use(self):
        names = {"managers", "drop.sftp"}
        self.assertEqual(self.complete("--config", self.config, "run", "--deliver", ""), names)
        self.assertEqual(self.complete("run", "--deliver", ""), names)  # the default file
        self.assertEqual(self.complete("deliver", "--to", "managers,d"), {"managers,drop.sftp"})
        self.assertEqual(self.complete("run", "--to", ""), set())  # run's --to is a timestamp
        other = os.path.join(self.tmp.name, "other.conf")
        with open(other, "w", encoding="utf-8") as f:
            f.write("[delivery archive]\nkind = dir\n")
        self.assertEqual(self.complete("--config", other, "deliver", "--to", ""), {"archive"})
        self.assertEqual(self.complete("deliver", "--to", "", env_extra={"DYNOREPORT_CONFIG": other}),
                         {"archive"})

    def test_job_names(self):
        self.assertEqual(self.complete("job", ""), {"monthly-all", "--all", "--help"})
        self.assertEqual(self.complete("job", "--"), {"--all", "--jobs", "--skip-existing", "--lock-timeout",
                                                      "--dry-run", "--help"})
        self.assertEqual(self.complete("job", "--jobs", ""), set(), "a number after --jobs, not a job")


if __name__ == "__main__":
    unittest.main()
