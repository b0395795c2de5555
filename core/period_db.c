/* The period's bounds and the report's zone, resolved by PostgreSQL (sql/zone_*.sql,
   sql/period_resolve.sql); the zone database lookup is made once per process. */
#include "period_db.h"

#include <stdio.h>
#include <string.h>

#include "sql_embedded.h"

static dr_status unknown_zone(const char *tz, dr_error *err)
{
    char q[DR_QUOTE_SIZE];
    return dr_fail(err, DR_EUSAGE, "unknown time zone %s: expected an IANA name such as "
                   "Europe/Berlin, America/New_York or UTC", dr_quote(tz, strlen(tz), q, sizeof q));
}

dr_status dr_zone_apply(dr_db *db, dr_zone *zone, dr_error *err)
{
    dr_param p[] = {{"tz", zone->name}};
    dr_status st = DR_OK;
    /* A POSIX zone string ('UTC+3', 'EST5EDT') always holds a digit and means something
       people do not expect (UTC+3 is three hours *behind* UTC): names with digits must be
       in the zone database itself ('Etc/GMT+3' is). Plain names skip that 50 ms lookup. */
    if (!zone->verified && strpbrk(zone->name, "0123456789")) {
        char count[24] = "0";
        char *const dst[1] = {count};
        const size_t size[1] = {sizeof count};
        int found = 0;
        st = dr_db_fetch_row_named(db, dr_sql_zone_known, p, 1, dst, size, 1, &found, err);
        if (st != DR_OK)
            return st;
        if (!found || strcmp(count, "0") == 0)
            return unknown_zone(zone->name, err);
    }
    dr_error e = {0};
    st = dr_db_exec_named(db, dr_sql_zone_set, p, 1, NULL, &e);
    if (st != DR_OK && strcmp(e.sqlstate, "22023") == 0)
        return unknown_zone(zone->name, err);
    if (st != DR_OK)
        return dr_fail(err, st, "%s", e.msg);
    zone->verified = 1;
    return DR_OK;
}

dr_status dr_period_resolve(dr_db *db, const dr_period_request *req, dr_run_meta *m, dr_error *err)
{
    char offset[8];
    const dr_period *per = req->period;
    snprintf(offset, sizeof offset, "%d", req->has_range ? 0 : per->offset);
    dr_param p[] = {
        {"range", req->has_range ? "1" : "0"},
        {"relative", !req->has_range && per->relative ? "1" : "0"},
        {"field", dr_period_unit_field(req->has_range ? DR_UNIT_DAY : per->unit)},
        {"interval", dr_period_unit_interval(req->has_range ? DR_UNIT_DAY : per->unit)},
        {"offset", offset},
        {"anchor", req->has_range || per->relative ? NULL : per->anchor},
        {"tz", req->tz},
        {"from_local", req->has_range ? req->from->local : NULL},
        {"from_off", req->has_range ? req->from->offset : ""},
        {"to_local", req->has_range ? req->to->local : NULL},
        {"to_off", req->has_range ? req->to->offset : ""},
    };
    char ordered[8];
    char *const dst[9] = {m->run_id, m->start, m->end, m->generated, m->period_label,
                          m->from_c, m->to_c, m->generated_c, ordered};
    const size_t size[9] = {sizeof m->run_id, sizeof m->start, sizeof m->end, sizeof m->generated,
                            sizeof m->period_label, sizeof m->from_c, sizeof m->to_c,
                            sizeof m->generated_c, sizeof ordered};
    int has = 0;
    dr_status st = dr_db_fetch_row_named(db, dr_sql_period_resolve, p, sizeof p / sizeof p[0], dst, size, 9,
                                         &has, err);
    if (st == DR_OK && !has)
        st = dr_fail(err, DR_EINTERNAL, "the period query returned no row");
    if (st == DR_OK && strcmp(ordered, "1") != 0 && !req->has_range)
        st = dr_fail(err, DR_EINTERNAL, "the period %s has no length", per->label);
    if (st == DR_OK && strcmp(ordered, "1") != 0)
        st = dr_fail(err, DR_EUSAGE, "--from %s%s must be before --to %s%s (in %s: %s .. %s)",
                     req->from->local, req->from->offset, req->to->local, req->to->offset, req->tz,
                     m->start, m->end);
    return st;
}
