/*
 * main.c - tether-lab: run the relay-attack matrix and print it (docs/attacks.md).
 *
 *   tether-lab [--json] [--scenario ID]... [--mode MODE]... [--verbose] [--list]
 *
 * Exit status: 0 every cell as expected, 1 some cell deviates, 2 usage, 4 the lab could not
 * set itself up. Runs everything in this process on 127.0.0.1 with test-only powers; it is a
 * test tool, never part of the library or the tether command.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lab/lab.h"
#include "util/util.h"

#define EXIT_OK 0
#define EXIT_DEVIATION 1
#define EXIT_USAGE 2
#define EXIT_SETUP 4

static const char usage_text[] =
    "usage: tether lab [--json] [--scenario ID]... [--mode MODE]... [--verbose] [--list]\n"
    "  Runs the relay and diversion attacks T-1..T-20 (docs/attacks.md) on 127.0.0.1 against\n"
    "  real tether clients and two genuine simulated TEEs (same measurement, platforms P1 and\n"
    "  P2), and prints the mode-by-attack matrix next to the expected outcome.\n"
    "  --scenario ID  only this scenario (T-1 .. T-20; repeatable, or comma-separated)\n"
    "  --mode MODE    only this mode: tether, ra-nonce, ra-key, ra-key-nonce, ra-early-exporter\n"
    "  --json         one JSON object {\"cells\":[...],\"summary\":{...}} instead of the matrix\n"
    "  --verbose      one line per cell with what the attacker did and saw\n"
    "  --list         list the scenarios and the systems they model\n"
    "  --inject-deviation ID  self-test: judge scenario ID's cells against the opposite\n"
    "                 of their expectation, so the run must deviate (exit status 1)\n"
    "  Exit status: 0 every cell as expected, 1 a cell deviates, 2 usage, 4 setup failure.\n";

/* Short names for the matrix rows. */
static const char *short_title(const char *id)
{
    static const char *const titles[][2] = {
        {"T-1", "nonce relay"},          {"T-2", "key relay (leaked key)"},
        {"T-3", "replay"},               {"T-4", "early-exporter relay"},
        {"T-5", "EA relay (leaked key)"}, {"T-6", "EA relay, ctx rewrite"},
        {"T-7", "byte forward (control)"}, {"T-8", "attestation oracle"},
        {"T-9", "leaked traffic secrets"}, {"T-10", "diversion"},
        {"T-11", "stale evidence"},      {"T-12", "empty expected value"},
        {"T-13", "label confusion"},     {"T-14", "cmw on non-leaf cert"},
        {"T-15", "authenticator replay"}, {"T-16", "data before attest."},
        {"T-17", "tickets / 0-RTT"},     {"T-18", "mutual reflection"},
        {"T-19", "weak TLS parameters"}, {"T-20", "key reuse"},
    };
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (!strcmp(titles[i][0], id))
            return titles[i][1];
    return id;
}

/* "T-5", "t5", "5" -> "T-5"; NULL if not a scenario. */
static const char *normalise_id(const char *s)
{
    static char buf[16];
    const char *p = s;
    if (*p == 'T' || *p == 't')
        p++;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p) || strlen(p) > 2)
        return NULL;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return NULL;
    snprintf(buf, sizeof buf, "T-%d", atoi(p));
    const struct lab_scenario_info *si = lab_scenario(buf);
    return si ? si->id : NULL;
}

static const char *expect_name(enum lab_expect e)
{
    switch (e) {
    case EXPECT_ATTACK: return "attack_succeeds";
    case EXPECT_DIVERTED: return "diverted";
    case EXPECT_BLOCKED: return "blocked";
    case EXPECT_ACCEPTED: return "accepted";
    case EXPECT_NOT_RUNNABLE: return "not_runnable";
    }
    return "?";
}

/* The matrix word for what happened. */
static const char *outcome_word(const struct lab_cell *c, const struct lab_outcome *o)
{
    if (o->lab_error)
        return "ERROR";
    if (!o->ran)
        return "refused";
    if (!o->client_accepted)
        return "blocked";
    if (o->attacker_read_secret)
        return "ATTACK";
    return !strcmp(c->scenario, "T-10") ? "DIVERTED" : "accepted";
}

static void describe(const struct lab_outcome *o, char *buf, size_t n)
{
    if (o->lab_error)
        snprintf(buf, n, "lab error: %s", o->reason);
    else if (!o->ran)
        snprintf(buf, n, "not runnable: %s", o->reason);
    else
        snprintf(buf, n, "client %s%s%s%s, attacker %s the secret%s",
                 o->client_accepted ? "accepted" : "refused", o->code[0] ? " (" : "", o->code,
                 o->code[0] ? ")" : "", o->attacker_read_secret ? "read" : "did not read",
                 o->check_ok ? "" : ", scenario check failed");
}

struct run {
    const struct lab_cell *cell;
    struct lab_outcome out;
    bool inverted; /* --inject-deviation */
    bool ok;
    int64_t ms;
};

static bool column_used(const struct run *runs, size_t n, enum lab_mode m)
{
    for (size_t i = 0; i < n; i++)
        if (runs[i].cell->mode == m)
            return true;
    return false;
}

static bool same_variant(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static const struct run *find_run(const struct run *runs, size_t n, const char *id,
                                  const char *variant, enum lab_mode m, enum lab_policy p)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(runs[i].cell->scenario, id) && same_variant(runs[i].cell->variant, variant) &&
            runs[i].cell->mode == m && runs[i].cell->policy == p)
            return &runs[i];
    return NULL;
}

/* The distinct variants of a scenario in table order (NULL, the plain scenario, included). */
static size_t scenario_variants(const char *id, const char **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < lab_n_cells && k < max; i++) {
        if (strcmp(lab_cells[i].scenario, id) != 0)
            continue;
        bool have = false;
        for (size_t j = 0; j < k; j++)
            have |= same_variant(out[j], lab_cells[i].variant);
        if (!have)
            out[k++] = lab_cells[i].variant;
    }
    return k;
}

/* One matrix row without its trailing padding. */
static void print_row(char *row)
{
    size_t n = strlen(row);
    while (n > 0 && row[n - 1] == ' ')
        row[--n] = 0;
    printf("%s\n", row);
}

/* Append s to a ", "-separated list in buf, once. */
static void list_add(char *buf, size_t n, const char *s)
{
    size_t sl = strlen(s);
    for (const char *p = buf; *p;) {
        const char *end = strstr(p, ", ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == sl && !strncmp(p, s, sl))
            return;
        p = end ? end + 2 : p + len;
    }
    size_t used = strlen(buf);
    snprintf(buf + used, n - used, "%s%s", used ? ", " : "", s);
}

/* The few sentences a person needs, computed from what happened (not from expectations). */
static void print_in_short(const struct run *runs, size_t n)
{
    char relay_ok[128] = "", ea_codes[128] = "", ea_accepted[64] = "";
    char div_ok[128] = "", div_blocked[128] = "", div_codes[128] = "", resid[128] = "";
    bool any_ea = false, any_div = false, any_pid = false;
    for (size_t i = 0; i < n; i++) {
        const struct run *r = &runs[i];
        const char *id = r->cell->scenario, *mode = lab_mode_name(r->cell->mode);
        if (!r->out.ran)
            continue;
        bool legacy_relay = r->cell->mode != LAB_TETHER &&
                            (!strcmp(id, "T-1") || !strcmp(id, "T-2") || !strcmp(id, "T-3") ||
                             !strcmp(id, "T-4"));
        if (legacy_relay && r->out.client_accepted && r->out.attacker_read_secret)
            list_add(relay_ok, sizeof relay_ok, mode);
        if (!strcmp(id, "T-5") || !strcmp(id, "T-6")) {
            any_ea = true;
            if (r->out.client_accepted)
                list_add(ea_accepted, sizeof ea_accepted, id);
            else
                list_add(ea_codes, sizeof ea_codes, r->out.code[0] ? r->out.code : "no code");
        }
        if (!strcmp(id, "T-10")) {
            if (r->cell->policy == LAB_DEFAULT) {
                any_div = true;
                if (r->out.client_accepted)
                    list_add(div_ok, sizeof div_ok, mode);
            } else {
                any_pid = true;
                if (!r->out.client_accepted) {
                    list_add(div_blocked, sizeof div_blocked, mode);
                    list_add(div_codes, sizeof div_codes, r->out.code);
                }
            }
        }
        if (r->cell->residual && r->out.client_accepted && r->out.attacker_read_secret)
            list_add(resid, sizeof resid, !strcmp(id, "T-8") ? "T-8 attestation oracle"
                                                               : "T-9 leaked traffic secrets");
    }
    printf("\nin short:\n");
    if (relay_ok[0])
        printf("  relay works against %s (the attacker reads the client's secret)\n", relay_ok);
    if (any_ea)
        printf("  relay %s against tether%s%s%s\n", ea_accepted[0] ? "SUCCEEDS" : "fails",
               ea_codes[0] ? " with " : "", ea_codes, ea_accepted[0] ? " (see deviations)" : "");
    if (any_div && div_ok[0])
        printf("  diversion works without a platform-id policy: %s\n", div_ok);
    if (any_pid && div_blocked[0])
        printf("  diversion stopped by the platform-id policy (%s): %s\n", div_codes,
               div_blocked);
    if (resid[0])
        printf("  residual, by design (no binding can stop them): %s\n", resid);
}

static void print_human(const struct run *runs, size_t n, int64_t total_ms, bool verbose)
{
    static const char *const head[LAB_N_MODES][2] = {
        {"tether", ""}, {"ra-nonce", ""}, {"ra-key", ""}, {"ra-key-", "nonce"},
        {"ra-early-", "exporter"}};
    printf("tether relay lab: real tether clients against scripted attackers on 127.0.0.1;\n"
           "two genuine simulated TEEs with the same measurement: S1 on platform P1 (the one the\n"
           "client means to reach) and S2 on platform P2 (\"a genuine TEE elsewhere\").\n"
           "Client policies: default = measurement + sim root; platform-id = also the platform\n"
           "allowlist {P1} (the \"+ platform-id\" rows).\n\n");
    /* Rows: scenarios (a second row where the platform-id policy is run); columns: modes. */
    char row[256];
    for (int line = 0; line < 2; line++) {
        int len = snprintf(row, sizeof row, "%-31s", line == 0 ? "attack \\ mode" : "");
        for (int m = 0; m < LAB_N_MODES; m++)
            if (column_used(runs, n, (enum lab_mode)m))
                len += snprintf(row + len, sizeof row - (size_t)len, " %-10s", head[m][line]);
        print_row(row);
    }
    for (size_t s = 0; s < lab_n_scenarios; s++) {
        const char *id = lab_scenarios[s].id;
        const char *variants[4];
        size_t nv = scenario_variants(id, variants, 4);
        for (size_t v = 0; v < nv; v++)
        for (int p = 0; p < LAB_N_POLICIES; p++) {
            const char *variant = variants[v];
            bool any = false;
            for (int m = 0; m < LAB_N_MODES; m++)
                any |= find_run(runs, n, id, variant, (enum lab_mode)m, (enum lab_policy)p) != NULL;
            if (!any)
                continue;
            char label[40];
            if (p == LAB_DEFAULT)
                snprintf(label, sizeof label, "%-4s %s", id, variant ? variant : short_title(id));
            else
                snprintf(label, sizeof label, "%-4s %s", "", "+ platform-id policy");
            int len = snprintf(row, sizeof row, "%-31s", label);
            for (int m = 0; m < LAB_N_MODES; m++) {
                if (!column_used(runs, n, (enum lab_mode)m))
                    continue;
                const struct run *r =
                    find_run(runs, n, id, variant, (enum lab_mode)m, (enum lab_policy)p);
                char word[24] = ".";
                if (r)
                    snprintf(word, sizeof word, "%s%s%s", outcome_word(r->cell, &r->out),
                             r->cell->residual ? "*" : "", r->ok ? "" : "!");
                len += snprintf(row + len, sizeof row - (size_t)len, " %-10s", word);
            }
            print_row(row);
        }
    }
    printf("\nATTACK   the client accepted and the attacker read its secret\n"
           "DIVERTED the client accepted platform P2 and sent its secret there\n"
           "accepted the client accepted, the attacker read nothing (control, design check)\n"
           "blocked  the client refused (failure codes below)\n"
           "refused  the library refuses to run this mode\n"
           "*        residual: succeeds against every binding by design\n"
           "!        differs from the expected outcome\n"
           ".        not part of the matrix (n/a)\n");
    bool header = false;
    for (size_t i = 0; i < n; i++) {
        const struct run *r = &runs[i];
        if (!r->out.ran || r->out.client_accepted || !r->out.code[0])
            continue;
        if (!header)
            printf("\nwhy blocked (the client's failure code):\n");
        header = true;
        char col[80];
        snprintf(col, sizeof col, "%s/%s", lab_mode_name(r->cell->mode),
                 lab_policy_name(r->cell->policy));
        if (r->cell->variant) {
            size_t used = strlen(col);
            snprintf(col + used, sizeof col - used, " (%s)", r->cell->variant);
        }
        printf("  %-5s %-26s %s%s%s\n", r->cell->scenario, col, r->out.code,
               r->cell->expect_code ? "" : "  -- what counts: ",
               r->cell->expect_code ? "" : r->cell->expected);
    }
    if (verbose) {
        printf("\ncells:\n");
        for (size_t i = 0; i < n; i++) {
            const struct run *r = &runs[i];
            char what[640];
            describe(&r->out, what, sizeof what);
            printf("  %-5s %-12s %-11s%s%s %-4s %s [%lld ms]\n", r->cell->scenario,
                   lab_mode_name(r->cell->mode), lab_policy_name(r->cell->policy),
                   r->cell->variant ? " " : "", r->cell->variant ? r->cell->variant : "",
                   r->ok ? "ok" : "DEV", what, (long long)r->ms);
            if (r->out.detail[0])
                printf("        %s\n", r->out.detail);
        }
    }
    print_in_short(runs, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const struct run *r = &runs[i];
        if (r->ok)
            continue;
        if (!bad)
            printf("\ndeviations from the expected matrix:\n");
        bad++;
        char what[640];
        describe(&r->out, what, sizeof what);
        printf("  %s %s/%s%s%s: expected %s%s; got %s%s%s\n", r->cell->scenario,
               lab_mode_name(r->cell->mode), lab_policy_name(r->cell->policy),
               r->cell->variant ? " " : "", r->cell->variant ? r->cell->variant : "",
               r->inverted ? "the opposite of: " : "", r->cell->expected, what,
               r->out.detail[0] ? " -- " : "", r->out.detail);
    }
    printf("\n%zu cells: %zu as expected, %zu deviate (%.1f s)\n", n, n - bad, bad,
           (double)total_ms / 1000.0);
}

static int print_json(const struct run *runs, size_t n, int64_t total_ms)
{
    json_t *root = json_object(), *cells = json_array();
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const struct run *r = &runs[i];
        const struct lab_scenario_info *si = lab_scenario(r->cell->scenario);
        json_t *c = json_object();
        json_object_set_new(c, "scenario", json_string(r->cell->scenario));
        json_object_set_new(c, "title", json_string(si ? si->title : ""));
        json_object_set_new(c, "models", json_string(si ? si->models : ""));
        json_object_set_new(c, "mode", json_string(lab_mode_name(r->cell->mode)));
        json_object_set_new(c, "policy", json_string(lab_policy_name(r->cell->policy)));
        json_object_set_new(c, "variant",
                            r->cell->variant ? json_string(r->cell->variant) : json_null());
        json_object_set_new(c, "status", json_string(r->out.lab_error ? "lab_error"
                                                     : r->out.ran     ? "ran"
                                                                      : "not_runnable"));
        json_object_set_new(c, "client_accepted", json_boolean(r->out.client_accepted));
        json_object_set_new(c, "attacker_read_secret", json_boolean(r->out.attacker_read_secret));
        json_object_set_new(c, "client_error_code",
                            r->out.code[0] ? json_string(r->out.code) : json_null());
        json_object_set_new(c, "outcome", json_string(outcome_word(r->cell, &r->out)));
        json_object_set_new(c, "expected", json_string(r->cell->expected));
        json_object_set_new(c, "expected_outcome", json_string(expect_name(r->cell->expect)));
        json_object_set_new(c, "expected_code", r->cell->expect_code
                                                    ? json_string(r->cell->expect_code)
                                                    : json_null());
        json_object_set_new(c, "as_expected", json_boolean(r->ok));
        if (r->inverted)
            json_object_set_new(c, "inverted", json_true());
        json_object_set_new(c, "residual", json_boolean(r->cell->residual));
        json_object_set_new(c, "check_ok", json_boolean(r->out.check_ok));
        json_object_set_new(c, "detail", json_string(r->out.detail));
        if (r->out.reason[0])
            json_object_set_new(c, "reason", json_string(r->out.reason));
        json_object_set_new(c, "duration_ms", json_integer(r->ms));
        json_array_append_new(cells, c);
        bad += !r->ok;
    }
    json_object_set_new(root, "lab", json_string("tether relay lab"));
    json_object_set_new(root, "version", json_string(TETHER_VERSION_STRING));
    json_object_set_new(root, "cells", cells);
    json_t *sum = json_object();
    json_object_set_new(sum, "cells", json_integer((json_int_t)n));
    json_object_set_new(sum, "as_expected", json_integer((json_int_t)(n - bad)));
    json_object_set_new(sum, "deviations", json_integer((json_int_t)bad));
    json_object_set_new(sum, "duration_ms", json_integer(total_ms));
    json_object_set_new(root, "summary", sum);
    json_object_set_new(root, "all_as_expected", json_boolean(bad == 0));
    int rc = json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    printf("\n");
    json_decref(root);
    return rc;
}

static void list_scenarios(void)
{
    for (size_t i = 0; i < lab_n_scenarios; i++)
        printf("%-5s %s\n      models: %s\n", lab_scenarios[i].id, lab_scenarios[i].title,
               lab_scenarios[i].models);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'},     {"scenario", required_argument, 0, 's'},
        {"mode", required_argument, 0, 'm'}, {"verbose", no_argument, 0, 'v'},
        {"list", no_argument, 0, 'l'},     {"help", no_argument, 0, 'h'},
        {"inject-deviation", required_argument, 0, 'i'},
        {0, 0, 0, 0}};
    bool json = false, verbose = false;
    bool want_scenario[32] = {false}, any_scenario = false;
    bool want_mode[LAB_N_MODES] = {false}, any_mode = false;
    bool invert[32] = {false};
    int c;
    while ((c = getopt_long(argc, argv, "jvh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'v': verbose = true; break;
        case 'l': list_scenarios(); return EXIT_OK;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case 's': {
            char *copy = strdup(optarg), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                const char *id = normalise_id(tok);
                if (!id) {
                    fprintf(stderr, "tether lab: unknown scenario '%s' (T-1 .. T-20)\n", tok);
                    free(copy);
                    return EXIT_USAGE;
                }
                want_scenario[atoi(id + 2)] = true;
                any_scenario = true;
            }
            free(copy);
            break;
        }
        case 'i': {
            const char *id = normalise_id(optarg);
            if (!id) {
                fprintf(stderr, "tether lab: unknown scenario '%s' (T-1 .. T-20)\n", optarg);
                return EXIT_USAGE;
            }
            invert[atoi(id + 2)] = true;
            break;
        }
        case 'm': {
            enum lab_mode m;
            if (lab_mode_parse(optarg, &m) != 0) {
                fprintf(stderr, "tether lab: unknown mode '%s'\n", optarg);
                return EXIT_USAGE;
            }
            want_mode[m] = true;
            any_mode = true;
            break;
        }
        default: fputs(usage_text, stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    size_t n = 0;
    struct run *runs = calloc(lab_n_cells, sizeof *runs);
    if (!runs)
        return EXIT_SETUP;
    for (size_t i = 0; i < lab_n_cells; i++) {
        const struct lab_cell *cell = &lab_cells[i];
        if (any_scenario && !want_scenario[atoi(cell->scenario + 2)])
            continue;
        if (any_mode && !want_mode[cell->mode])
            continue;
        runs[n].inverted = invert[atoi(cell->scenario + 2)];
        runs[n++].cell = cell;
    }
    if (n == 0) {
        fprintf(stderr, "tether lab: no cell of the matrix matches the selection\n");
        free(runs);
        return EXIT_USAGE;
    }
    /* The raw attacker endpoints use OpenSSL's socket BIO, which can raise SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    struct lab_env env;
    memset(&env, 0, sizeof env);
    char err[512] = "";
    if (lab_env_setup(&env, err, sizeof err) != 0) {
        fprintf(stderr, "tether lab: setup failed: %s\n", err);
        lab_env_cleanup(&env);
        free(runs);
        return EXIT_SETUP;
    }
    int64_t start = now_ms();
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct run *r = &runs[i];
        r->out.check_ok = true;
        int64_t t0 = now_ms();
        r->cell->run(&env, r->cell, &r->out);
        r->ms = now_ms() - t0;
        r->ok = lab_as_expected(r->cell, &r->out) != r->inverted;
        bad += !r->ok;
        if (verbose && !json)
            fprintf(stderr, "tether lab: %s %s/%s done (%lld ms)\n", r->cell->scenario,
                    lab_mode_name(r->cell->mode), lab_policy_name(r->cell->policy),
                    (long long)r->ms);
    }
    int64_t total = now_ms() - start;
    if (json)
        print_json(runs, n, total);
    else
        print_human(runs, n, total, verbose);
    fflush(stdout);
    lab_env_cleanup(&env);
    free(runs);
    return bad ? EXIT_DEVIATION : EXIT_OK;
}
