/*
 * libFuzzer target: dr_config_load on a configuration file with the input as content
 * (an in-memory file: memfd, opened by path through /proc/self/fd). Checks memory safety
 * and the loaded structure; not the message text (core/config.c prints some values raw:
 * see docs/reliability.md). The connect value also goes through the connection-string
 * reader of odbc.h (dr_connstr_next), which redaction and the password checks rely on.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "odbc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("dynoreport-fuzz.conf", 0);
        FUZZ_CHECK(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    dr_config cfg;
    dr_error e = {0};
    dr_status st = dr_config_load(path, &cfg, &e);
    FUZZ_CHECK(st == DR_OK || e.status == st);
    FUZZ_CHECK(st == DR_OK || st == DR_ECONFIG || st == DR_ENOMEM);
    FUZZ_CHECK(strnlen(e.msg, sizeof e.msg) < sizeof e.msg);
    if (st == DR_OK) {
        FUZZ_CHECK(cfg.path != NULL && strcmp(cfg.path, path) == 0);
        FUZZ_CHECK(!(cfg.connect && cfg.dsn));
        FUZZ_CHECK(cfg.password_file == NULL || cfg.password_file[0] == '/');
        if (cfg.connect) {
            /* the pieces tile the string, in order, each inside it, and the walk ends */
            const char *p = cfg.connect, *stop = cfg.connect + strlen(cfg.connect), *prev = cfg.connect;
            dr_connstr_attr a;
            size_t pieces = 0;
            while (dr_connstr_next(&p, &a)) {
                FUZZ_CHECK(a.begin == prev && a.end >= a.begin && a.end <= stop);
                FUZZ_CHECK(a.key == NULL || (a.key >= a.begin && a.key + a.keylen <= a.end));
                FUZZ_CHECK(a.key == NULL || (a.value > a.begin && a.value + a.valuelen == a.end));
                FUZZ_CHECK(p == (*a.end ? a.end + 1 : a.end));
                prev = p;
                FUZZ_CHECK(++pieces <= strlen(cfg.connect) + 1);
            }
            FUZZ_CHECK(p == stop);
            (void)dr_connstr_has_secret(cfg.connect);
        }
        FUZZ_CHECK(cfg.defaults.nopts <= DR_CONFIG_MAX_OPTS);
        for (size_t i = 0; i < cfg.defaults.nopts; i++)
            FUZZ_CHECK(strchr(cfg.defaults.opts[i], '=') != NULL);
        for (size_t j = 0; j < cfg.njobs; j++) {
            FUZZ_CHECK(cfg.jobs[j].name != NULL && cfg.jobs[j].name[0] != '\0');
            FUZZ_CHECK(dr_config_job_find(&cfg, cfg.jobs[j].name) != NULL);
        }
        dr_config_free(&cfg);
        FUZZ_CHECK(cfg.path == NULL && cfg.njobs == 0);
    } else {
        FUZZ_CHECK(cfg.path == NULL && cfg.jobs == NULL); /* freed on failure */
    }
    return 0;
}
