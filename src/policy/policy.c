/*
 * policy.c - the appraisal policy (docs/policy.md): strict JSON parsing and the appraisal of
 * verified claims (measurement, platform identity, TCB, debug, evidence age).
 *
 * Must never widen a policy silently: duplicate keys, unknown keys, wrong types, bad hex,
 * empty lists and out-of-range numbers are errors; anything the policy does not state
 * explicitly is the strict default (no debug, 300 s maximum age). Appraisal fails closed: a
 * TEE entry without measurements, or claims missing a value the policy constrains, fail.
 * Appraisal never sees the binder: that comparison happens in src/verify before this runs.
 *
 * Adding a TEE type: one entry in tee_parsers[] and one parse function (see parse_sim).
 */
#include "policy/policy.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "evidence/dcap/dcap_verify.h"
#include "evidence/snp/snp_verify.h"
#include "policy/policy_internal.h"
#include "util/util.h"

#define POLICY_MAX_BYTES (1024u * 1024u)
#define POLICY_MAX_AGE_LIMIT 315360000LL /* ten years */
#define ANCHOR_FILE_MAX (1024u * 1024u)
#define FUTURE_TOLERANCE 60              /* seconds of clock skew accepted */

/* ---- error helpers ---- */

void pol_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pol_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *pol_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Every key of obj must be in allowed (NULL-terminated). */
/* Edit distance between two short keys (both cut at 64 characters), for "did you mean". */
static size_t key_distance(const char *a, const char *b)
{
    size_t la = strnlen(a, 64), lb = strnlen(b, 64);
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

int pol_check_keys(json_t *obj, const char *path, const char *const *allowed, char *err,
                      size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool known = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                known = true;
        if (!known) {
            /* The closest allowed key when it is a likely typo, and the whole list when it
             * fits the message; long lists (accept.snp) point to the documentation. */
            const char *near = NULL;
            size_t best = 4, total = 0;
            for (size_t i = 0; allowed[i]; i++) {
                size_t d = key_distance(key, allowed[i]);
                if (d < best) {
                    best = d;
                    near = allowed[i];
                }
                total += strlen(allowed[i]) + 4;
            }
            char list[256] = "";
            if (total < sizeof list)
                for (size_t i = 0; allowed[i]; i++) {
                    size_t used = strlen(list);
                    snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "",
                             allowed[i]);
                }
            else
                snprintf(list, sizeof list, "see docs/policy.md");
            if (near)
                pol_errf(err, errlen, "%s: unknown key \"%.64s\" (did you mean \"%s\"? allowed: %s)",
                         path, key, near, list);
            else
                pol_errf(err, errlen, "%s: unknown key \"%.64s\" (allowed: %s)", path, key, list);
            return -1;
        }
    }
    return 0;
}

int pol_parse_uint(json_t *v, const char *path, long long max, uint64_t *out, char *err,
                      size_t errlen)
{
    if (!json_is_integer(v)) {
        pol_errf(err, errlen, "%s: must be an integer, not %s", path, pol_json_type_name(v));
        return -1;
    }
    json_int_t n = json_integer_value(v);
    if (n < 0 || n > max) {
        pol_errf(err, errlen, "%s: %lld is out of range (0..%lld)", path, (long long)n, max);
        return -1;
    }
    *out = (uint64_t)n;
    return 0;
}

/* A non-empty array of hex strings, each exactly exact_len bytes (or 1..64 when 0). */
int pol_parse_hex_list(json_t *arr, const char *path, size_t exact_len,
                          struct policy_value **out, size_t *n_out, char *err, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    if (!json_is_array(arr)) {
        pol_errf(err, errlen, "%s: must be an array of hex strings, not %s", path,
             pol_json_type_name(arr));
        return -1;
    }
    size_t n = json_array_size(arr);
    if (n == 0) {
        pol_errf(err, errlen, "%s: must not be empty (omit the key instead, where it is optional)",
             path);
        return -1;
    }
    if (n > POLICY_MAX_VALUES) {
        pol_errf(err, errlen, "%s: too many values (%zu, at most %d)", path, n, POLICY_MAX_VALUES);
        return -1;
    }
    struct policy_value *vals = calloc(n, sizeof *vals);
    if (!vals) {
        pol_errf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s)) {
            pol_errf(err, errlen, "%s[%zu]: must be a hex string, not %s", path, i, pol_json_type_name(s));
            goto bad;
        }
        const char *h = json_string_value(s);
        if (hex_decode(h, vals[i].bytes, sizeof vals[i].bytes, &vals[i].len) != 0 ||
            vals[i].len == 0) {
            pol_errf(err, errlen, "%s[%zu]: \"%.40s%s\" is not a hex string of 1..64 bytes", path, i,
                 h, strlen(h) > 40 ? "..." : "");
            goto bad;
        }
        if (exact_len && vals[i].len != exact_len) {
            pol_errf(err, errlen, "%s[%zu]: must be exactly %zu bytes (%zu hex digits), got %zu bytes",
                 path, i, exact_len, 2 * exact_len, vals[i].len);
            goto bad;
        }
    }
    *out = vals;
    *n_out = n;
    return 0;
bad:
    free(vals);
    return -1;
}

/* Add every certificate of a PEM (or, for files, DER) buffer to store. */
static int add_certs(X509_STORE *store, const uint8_t *data, size_t len, bool allow_der,
                     int *count, const char *what, char *err, size_t errlen)
{
    if (len > INT_MAX) {
        pol_errf(err, errlen, "%s: too large", what);
        return -1;
    }
    int added = 0;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (!bio) {
        pol_errf(err, errlen, "out of memory");
        return -1;
    }
    ERR_clear_error();
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        int ok = X509_STORE_add_cert(store, x);
        X509_free(x);
        if (ok != 1) {
            unsigned long e = ERR_peek_last_error();
            /* The same certificate named twice is harmless. */
            if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
                BIO_free(bio);
                ERR_clear_error();
                pol_errf(err, errlen, "%s: cannot add certificate to the trust store", what);
                return -1;
            }
        }
        ERR_clear_error();
        added++;
        if (*count + added > POLICY_MAX_VALUES) {
            BIO_free(bio);
            pol_errf(err, errlen, "%s: too many trust-anchor certificates (at most %d)", what,
                 POLICY_MAX_VALUES);
            return -1;
        }
    }
    unsigned long e = ERR_peek_last_error();
    bool clean_end = added > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
                     ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    BIO_free(bio);
    ERR_clear_error();
    if (added > 0 && !clean_end) {
        pol_errf(err, errlen, "%s: malformed PEM certificate", what);
        return -1;
    }
    if (added == 0 && allow_der) {
        const unsigned char *p = data;
        x = d2i_X509(NULL, &p, (long)len);
        if (x && p == data + len) {
            int ok = X509_STORE_add_cert(store, x);
            X509_free(x);
            ERR_clear_error();
            if (ok == 1)
                added = 1;
        } else {
            X509_free(x);
            ERR_clear_error();
        }
    }
    if (added == 0) {
        pol_errf(err, errlen, "%s: no certificate found (PEM%s expected)", what,
             allow_der ? " or DER" : "");
        return -1;
    }
    *count += added;
    return 0;
}

static int load_anchor(X509_STORE *store, const char *s, const char *base_dir, const char *path,
                       int *count, char *err, size_t errlen)
{
    if (strncmp(s, "-----BEGIN", 10) == 0)
        return add_certs(store, (const uint8_t *)s, strlen(s), false, count, path, err, errlen);
    if (s[0] == '\0') {
        pol_errf(err, errlen, "%s: empty file name", path);
        return -1;
    }
    char file[PATH_MAX];
    if (s[0] == '/') {
        if (snprintf(file, sizeof file, "%s", s) >= (int)sizeof file) {
            pol_errf(err, errlen, "%s: file name too long", path);
            return -1;
        }
    } else {
        if (!base_dir || !base_dir[0]) {
            pol_errf(err, errlen,
                 "%s: relative trust-anchor path \"%.200s\" needs a base directory (load the "
                 "policy from a file, give a base directory, or use an absolute path)",
                 path, s);
            return -1;
        }
        if (snprintf(file, sizeof file, "%s/%s", base_dir, s) >= (int)sizeof file) {
            pol_errf(err, errlen, "%s: file name too long", path);
            return -1;
        }
    }
    struct stat st;
    if (stat(file, &st) != 0) {
        pol_errf(err, errlen, "%s: cannot open trust anchor %.300s: %s", path, file, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        pol_errf(err, errlen, "%s: trust anchor %.300s is not a regular file", path, file);
        return -1;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (file_read(file, ANCHOR_FILE_MAX, &data, &len) != 0) {
        pol_errf(err, errlen, "%s: cannot read trust anchor %.300s: %s", path, file, strerror(errno));
        return -1;
    }
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "%s (%s)", path, file);
    int rc = add_certs(store, data, len, true, count, what, err, errlen);
    free(data);
    return rc;
}

int pol_parse_anchors(json_t *arr, const char *path, const char *base_dir,
                         struct policy_tee *tee, char *err, size_t errlen)
{
    if (!json_is_array(arr)) {
        pol_errf(err, errlen, "%s: must be an array of file names or PEM certificates, not %s", path,
             pol_json_type_name(arr));
        return -1;
    }
    size_t n = json_array_size(arr);
    if (n == 0) {
        pol_errf(err, errlen, "%s: must not be empty (omit the key to configure no anchor)", path);
        return -1;
    }
    if (n > POLICY_MAX_VALUES) {
        pol_errf(err, errlen, "%s: too many values (%zu, at most %d)", path, n, POLICY_MAX_VALUES);
        return -1;
    }
    tee->anchors = X509_STORE_new();
    tee->cache = chain_cache_new();
    if (!tee->anchors || !tee->cache) {
        pol_errf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        char ipath[128];
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
        if (!json_is_string(s)) {
            pol_errf(err, errlen, "%s: must be a file name or a PEM certificate, not %s", ipath,
                 pol_json_type_name(s));
            return -1;
        }
        if (load_anchor(tee->anchors, json_string_value(s), base_dir, ipath, &tee->n_anchors, err,
                        errlen) != 0)
            return -1;
    }
    return 0;
}

/* ---- per-TEE sections ---- */

static int parse_sim(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                     size_t errlen)
{
    static const char *const keys[] = {"trust_anchors", "measurements", "min_tcb", NULL};
    if (pol_check_keys(obj, "accept.sim", keys, err, errlen) != 0)
        return -1;
    json_t *m = json_object_get(obj, "measurements");
    if (!m) {
        pol_errf(err, errlen, "accept.sim: \"measurements\" is required (the allowed 48-byte "
                          "measurements, in hex)");
        return -1;
    }
    if (pol_parse_hex_list(m, "accept.sim.measurements", 48, &tee->measurements,
                       &tee->n_measurements, err, errlen) != 0)
        return -1;
    json_t *a = json_object_get(obj, "trust_anchors");
    if (a && pol_parse_anchors(a, "accept.sim.trust_anchors", base_dir, tee, err, errlen) != 0)
        return -1;
    json_t *t = json_object_get(obj, "min_tcb");
    if (t) {
        if (pol_parse_uint(t, "accept.sim.min_tcb", 0xffffffffLL, &tee->min_tcb, err, errlen) != 0)
            return -1;
        tee->has_min_tcb = true;
    }
    return 0;
}

/* accept.snp (docs/snp.md). Defaults are the strict ones: VMPL 0 only, no migration agent;
 * SMT is allowed unless allow_smt is false (almost every real guest policy sets it). */
enum { SNP_TCB_BL, SNP_TCB_TEE, SNP_TCB_SNP, SNP_TCB_UCODE, SNP_TCB_FMC, SNP_TCB_N };
static const char *const snp_tcb_names[SNP_TCB_N] = {"bootloader", "tee", "snp", "microcode",
                                                     "fmc"};

struct policy_snp {
    struct policy_value *host_data, *id_keys, *author_keys, *chip_ids;
    size_t n_host_data, n_id_keys, n_author_keys, n_chip_ids;
    bool allow_migration_agent;
    bool allow_smt;
    bool require_single_socket;
    bool has_vmpl;        /* exact VMPL */
    uint64_t vmpl;
    uint64_t max_vmpl;    /* used when !has_vmpl */
    bool has_min[SNP_TCB_N];
    uint8_t min[SNP_TCB_N];
    bool has_min_fw;
    unsigned fw[3];       /* major, minor, build */
    bool has_min_abi;     /* POLICY.ABI_MAJOR.ABI_MINOR (56860 Table 9 bits 15:8, 7:0) */
    unsigned abi[2];      /* major, minor */
    /* Guest policy bits added in ABI 1.55+ (56860 Table 9). CXL is refused unless allowed;
     * the require_* keys are off (skip) unless set. */
    bool allow_cxl;
    bool require_aes_256_xts, require_rapl_disabled, require_ciphertext_hiding,
        require_page_swap_disabled;
    /* PLATFORM_INFO (56860 Table 23 field PLATFORM_INFO). */
    bool allow_smt_enabled; /* default true */
    bool require_tsme, require_ecc_memory, require_rapl_disabled_platform,
        require_ciphertext_hiding_platform, require_alias_check_complete;
};

static void policy_snp_free(struct policy_snp *sp)
{
    if (!sp)
        return;
    free(sp->host_data);
    free(sp->id_keys);
    free(sp->author_keys);
    free(sp->chip_ids);
    free(sp);
}

int pol_parse_bool(json_t *v, const char *path, bool *out, char *err, size_t errlen)
{
    if (!json_is_boolean(v)) {
        pol_errf(err, errlen, "%s: must be true or false, not %s", path, pol_json_type_name(v));
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int pol_parse_snp(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                  size_t errlen)
{
    static const char *const keys[] = {"trust_anchors", "measurements", "host_data",
                                       "id_key_digests", "author_key_digests", "chip_ids",
                                       "allow_migration_agent", "allow_smt",
                                       "require_single_socket", "vmpl", "max_vmpl", "min_tcb",
                                       "min_firmware", "min_abi", "allow_cxl",
                                       "require_aes_256_xts", "require_rapl_disabled",
                                       "require_ciphertext_hiding",
                                       "require_page_swap_disabled", "allow_smt_enabled",
                                       "require_tsme", "require_ecc_memory",
                                       "require_rapl_disabled_platform",
                                       "require_ciphertext_hiding_platform",
                                       "require_alias_check_complete", NULL};
    if (pol_check_keys(obj, "accept.snp", keys, err, errlen) != 0)
        return -1;
    struct policy_snp *sp = calloc(1, sizeof *sp);
    if (!sp) {
        pol_errf(err, errlen, "out of memory");
        return -1;
    }
    tee->snp = sp;
    sp->allow_smt = true;
    sp->allow_smt_enabled = true;
    json_t *m = json_object_get(obj, "measurements");
    if (!m) {
        pol_errf(err, errlen, "accept.snp: \"measurements\" is required (the allowed 48-byte "
                          "launch measurements, in hex)");
        return -1;
    }
    if (pol_parse_hex_list(m, "accept.snp.measurements", 48, &tee->measurements,
                       &tee->n_measurements, err, errlen) != 0)
        return -1;
    json_t *v = json_object_get(obj, "trust_anchors");
    if (v && pol_parse_anchors(v, "accept.snp.trust_anchors", base_dir, tee, err, errlen) != 0)
        return -1;
    /* snp always has anchors (the built-in AMD ARKs), so always a chain cache. */
    if (!tee->cache && !(tee->cache = chain_cache_new())) {
        pol_errf(err, errlen, "out of memory");
        return -1;
    }
    struct {
        const char *key;
        size_t len;
        struct policy_value **vals;
        size_t *n;
    } lists[] = {
        {"host_data", 32, &sp->host_data, &sp->n_host_data},
        {"id_key_digests", 48, &sp->id_keys, &sp->n_id_keys},
        {"author_key_digests", 48, &sp->author_keys, &sp->n_author_keys},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        v = json_object_get(obj, lists[i].key);
        char path[64];
        snprintf(path, sizeof path, "accept.snp.%s", lists[i].key);
        if (v && pol_parse_hex_list(v, path, lists[i].len, lists[i].vals, lists[i].n, err,
                                errlen) != 0)
            return -1;
    }
    v = json_object_get(obj, "chip_ids");
    if (v) {
        if (pol_parse_hex_list(v, "accept.snp.chip_ids", 0, &sp->chip_ids, &sp->n_chip_ids, err,
                           errlen) != 0)
            return -1;
        for (size_t i = 0; i < sp->n_chip_ids; i++)
            if (sp->chip_ids[i].len != 64 && sp->chip_ids[i].len != 8) {
                pol_errf(err, errlen, "accept.snp.chip_ids[%zu]: must be 64 bytes (8 on Turin), "
                                  "got %zu bytes", i, sp->chip_ids[i].len);
                return -1;
            }
    }
    struct {
        const char *key;
        bool *out;
    } bools[] = {
        {"allow_migration_agent", &sp->allow_migration_agent},
        {"allow_smt", &sp->allow_smt},
        {"require_single_socket", &sp->require_single_socket},
        {"allow_cxl", &sp->allow_cxl},
        {"require_aes_256_xts", &sp->require_aes_256_xts},
        {"require_rapl_disabled", &sp->require_rapl_disabled},
        {"require_ciphertext_hiding", &sp->require_ciphertext_hiding},
        {"require_page_swap_disabled", &sp->require_page_swap_disabled},
        {"allow_smt_enabled", &sp->allow_smt_enabled},
        {"require_tsme", &sp->require_tsme},
        {"require_ecc_memory", &sp->require_ecc_memory},
        {"require_rapl_disabled_platform", &sp->require_rapl_disabled_platform},
        {"require_ciphertext_hiding_platform", &sp->require_ciphertext_hiding_platform},
        {"require_alias_check_complete", &sp->require_alias_check_complete},
    };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        v = json_object_get(obj, bools[i].key);
        char path[64];
        snprintf(path, sizeof path, "accept.snp.%s", bools[i].key);
        if (v && pol_parse_bool(v, path, bools[i].out, err, errlen) != 0)
            return -1;
    }
    json_t *vm = json_object_get(obj, "vmpl"), *mx = json_object_get(obj, "max_vmpl");
    if (vm && mx) {
        pol_errf(err, errlen, "accept.snp: give \"vmpl\" (exact) or \"max_vmpl\", not both");
        return -1;
    }
    if (vm) {
        if (pol_parse_uint(vm, "accept.snp.vmpl", 3, &sp->vmpl, err, errlen) != 0)
            return -1;
        sp->has_vmpl = true;
    }
    if (mx && pol_parse_uint(mx, "accept.snp.max_vmpl", 3, &sp->max_vmpl, err, errlen) != 0)
        return -1;
    v = json_object_get(obj, "min_tcb");
    if (v) {
        if (!json_is_object(v)) {
            pol_errf(err, errlen, "accept.snp.min_tcb: must be an object with bootloader, tee, snp, "
                              "microcode and/or fmc, not %s", pol_json_type_name(v));
            return -1;
        }
        static const char *const tkeys[] = {"bootloader", "tee", "snp", "microcode", "fmc",
                                            NULL};
        if (pol_check_keys(v, "accept.snp.min_tcb", tkeys, err, errlen) != 0)
            return -1;
        if (json_object_size(v) == 0) {
            pol_errf(err, errlen, "accept.snp.min_tcb: must name at least one component");
            return -1;
        }
        for (int i = 0; i < SNP_TCB_N; i++) {
            json_t *c = json_object_get(v, snp_tcb_names[i]);
            char path[64];
            snprintf(path, sizeof path, "accept.snp.min_tcb.%s", snp_tcb_names[i]);
            uint64_t x = 0;
            if (c) {
                if (pol_parse_uint(c, path, 255, &x, err, errlen) != 0)
                    return -1;
                sp->has_min[i] = true;
                sp->min[i] = (uint8_t)x;
            }
        }
    }
    v = json_object_get(obj, "min_firmware");
    if (v) {
        const char *fs = json_is_string(v) ? json_string_value(v) : NULL;
        unsigned a = 0, b = 0, c = 0;
        int used = 0, n = fs ? sscanf(fs, "%3u.%3u%n.%3u%n", &a, &b, &used, &c, &used) : 0;
        if (!fs || n < 2 || fs[used] != '\0' || a > 255 || b > 255 || c > 255 ||
            strspn(fs, "0123456789.") != strlen(fs)) {
            pol_errf(err, errlen, "accept.snp.min_firmware: must be a string \"MAJOR.MINOR\" or "
                              "\"MAJOR.MINOR.BUILD\" (each 0..255), e.g. \"1.55.29\"");
            return -1;
        }
        sp->has_min_fw = true;
        sp->fw[0] = a;
        sp->fw[1] = b;
        sp->fw[2] = n == 3 ? c : 0;
    }
    /* min_abi: "MAJOR.MINOR", digits only, each 0..255 (POLICY.ABI_MAJOR/ABI_MINOR are one
     * byte each, 56860 Table 9). */
    v = json_object_get(obj, "min_abi");
    if (v) {
        const char *as = json_is_string(v) ? json_string_value(v) : NULL;
        unsigned a = 0, b = 0;
        int used = 0, n = as ? sscanf(as, "%3u.%3u%n", &a, &b, &used) : 0;
        if (!as || n != 2 || as[used] != '\0' || a > 255 || b > 255 ||
            strspn(as, "0123456789.") != strlen(as)) {
            pol_errf(err, errlen, "accept.snp.min_abi: must be a string \"MAJOR.MINOR\" (each "
                                  "0..255), e.g. \"1.55\"");
            return -1;
        }
        sp->has_min_abi = true;
        sp->abi[0] = a;
        sp->abi[1] = b;
    }
    return 0;
}

struct tee_parser {
    const char *name;
    int (*parse)(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                 size_t errlen);
};

static const struct tee_parser tee_parsers[] = {
    {"sim", parse_sim},
    {"snp", pol_parse_snp},
    {"tdx", pol_parse_tdx},
    {"sgx", pol_parse_sgx},
    {"tpm", pol_parse_tpm},
    {"azure-vtpm", pol_parse_azure},
};
#define N_TEE_PARSERS (sizeof tee_parsers / sizeof tee_parsers[0])

/* ---- the policy ---- */

void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_tees; i++) {
        X509_STORE_free(p->tees[i].anchors);
        chain_cache_free(p->tees[i].cache);
        free(p->tees[i].measurements);
        policy_snp_free(p->tees[i].snp);
        pol_dcap_free(&p->tees[i]);
        pol_tpm_free(&p->tees[i]);
    }
    free(p->tees);
    free(p->platform_ids);
    free(p->source);
    free(p);
}

static int parse_accept(json_t *acc, const char *base_dir, struct policy *p, char *err,
                        size_t errlen)
{
    if (!json_is_object(acc)) {
        pol_errf(err, errlen, "accept: must be an object keyed by TEE type, not %s",
             pol_json_type_name(acc));
        return -1;
    }
    size_t n = json_object_size(acc);
    if (n == 0) {
        pol_errf(err, errlen, "accept: must name at least one TEE type");
        return -1;
    }
    p->tees = calloc(n, sizeof *p->tees);
    if (!p->tees) {
        pol_errf(err, errlen, "out of memory");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(acc, key, v) {
        const struct tee_parser *tp = NULL;
        for (size_t i = 0; i < N_TEE_PARSERS; i++)
            if (strcmp(tee_parsers[i].name, key) == 0)
                tp = &tee_parsers[i];
        if (!tp) {
            char list[128] = "";
            for (size_t i = 0; i < N_TEE_PARSERS; i++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "",
                         tee_parsers[i].name);
            }
            pol_errf(err, errlen, "accept: unknown TEE type \"%.64s\" (known: %s)", key, list);
            return -1;
        }
        if (!json_is_object(v)) {
            pol_errf(err, errlen, "accept.%s: must be an object, not %s", key, pol_json_type_name(v));
            return -1;
        }
        struct policy_tee *t = &p->tees[p->n_tees++];
        snprintf(t->name, sizeof t->name, "%s", tp->name);
        if (tp->parse(v, base_dir, t, err, errlen) != 0)
            return -1;
    }
    return 0;
}

struct policy *policy_parse(const char *json, size_t len, const char *base_dir, char *err,
                            size_t errlen)
{
    pol_errf(err, errlen, "invalid policy");
    if (!json) {
        pol_errf(err, errlen, "no policy text");
        return NULL;
    }
    if (len > POLICY_MAX_BYTES) {
        pol_errf(err, errlen, "policy larger than 1 MiB");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line > 0)
            pol_errf(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        else
            pol_errf(err, errlen, "%s", jerr.text);
        return NULL;
    }
    struct policy *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(root);
        pol_errf(err, errlen, "out of memory");
        return NULL;
    }
    p->max_evidence_age = 300;
    static const char *const keys[] = {"tether_policy", "accept", "platform_ids", "allow_debug",
                                       "max_evidence_age_seconds", NULL};
    if (!json_is_object(root)) {
        pol_errf(err, errlen, "the policy must be a JSON object, not %s", pol_json_type_name(root));
        goto bad;
    }
    if (pol_check_keys(root, "policy", keys, err, errlen) != 0)
        goto bad;
    json_t *v = json_object_get(root, "tether_policy");
    if (!v) {
        pol_errf(err, errlen, "\"tether_policy\": 1 is required (policy format version)");
        goto bad;
    }
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        pol_errf(err, errlen, "tether_policy: unsupported policy version (only the integer 1 is "
                          "known)");
        goto bad;
    }
    v = json_object_get(root, "accept");
    if (!v) {
        pol_errf(err, errlen, "\"accept\" is required (the accepted TEE types and their settings)");
        goto bad;
    }
    if (parse_accept(v, base_dir, p, err, errlen) != 0)
        goto bad;
    v = json_object_get(root, "platform_ids");
    if (v) {
        if (pol_parse_hex_list(v, "platform_ids", 0, &p->platform_ids, &p->n_platform_ids, err,
                           errlen) != 0)
            goto bad;
        p->has_platform_ids = true;
    }
    v = json_object_get(root, "allow_debug");
    if (v) {
        if (!json_is_boolean(v)) {
            pol_errf(err, errlen, "allow_debug: must be true or false, not %s", pol_json_type_name(v));
            goto bad;
        }
        p->allow_debug = json_is_true(v);
    }
    v = json_object_get(root, "max_evidence_age_seconds");
    if (v) {
        uint64_t age = 0;
        if (pol_parse_uint(v, "max_evidence_age_seconds", POLICY_MAX_AGE_LIMIT, &age, err, errlen) != 0)
            goto bad;
        p->max_evidence_age = (int64_t)age;
    }
    p->source = strdup("<inline>");
    if (!p->source) {
        pol_errf(err, errlen, "out of memory");
        goto bad;
    }
    json_decref(root);
    if (err && errlen)
        err[0] = '\0';
    return p;
bad:
    json_decref(root);
    policy_free(p);
    ERR_clear_error();
    return NULL;
}

struct policy *policy_load_file(const char *path, char *err, size_t errlen)
{
    if (!path || !path[0]) {
        pol_errf(err, errlen, "no policy file name");
        return NULL;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (file_read(path, POLICY_MAX_BYTES, &data, &len) != 0) {
        if (errno == EFBIG)
            pol_errf(err, errlen, "policy file larger than 1 MiB");
        else
            pol_errf(err, errlen, "cannot read: %s", strerror(errno));
        return NULL;
    }
    char base[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(base, sizeof base, ".");
    else if (slash == path)
        snprintf(base, sizeof base, "/");
    else
        snprintf(base, sizeof base, "%.*s", (int)(slash - path), path);
    struct policy *p = policy_parse((const char *)data, len, base, err, errlen);
    free(data);
    if (p) {
        char *src = strdup(path);
        if (!src) {
            policy_free(p);
            pol_errf(err, errlen, "out of memory");
            return NULL;
        }
        free(p->source);
        p->source = src;
    }
    return p;
}

const struct policy_tee *policy_find_tee(const struct policy *p, const char *name)
{
    if (!p || !name)
        return NULL;
    for (size_t i = 0; i < p->n_tees; i++)
        if (strcmp(p->tees[i].name, name) == 0)
            return &p->tees[i];
    return NULL;
}

/* ---- appraisal ---- */

/* "v" for one value, else "one of: v1, v2, ... (and N more)"; caller frees. */
char *pol_values_string(const struct policy_value *v, size_t n)
{
    enum { SHOWN = 8 };
    size_t cap = 64 + (n < SHOWN ? n : SHOWN) * (2 * 64 + 2);
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t used = (size_t)snprintf(s, cap, "%s", n == 1 ? "" : "one of: ");
    for (size_t i = 0; i < n && i < SHOWN; i++) {
        char h[129];
        hex_encode(v[i].bytes, v[i].len, h);
        used += (size_t)snprintf(s + used, cap - used, "%s%s", i ? ", " : "", h);
    }
    if (n > SHOWN)
        snprintf(s + used, cap - used, " (and %zu more)", n - SHOWN);
    return s;
}

bool pol_value_listed(const struct policy_value *v, size_t n, const uint8_t *x, size_t xlen)
{
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (v[i].len == xlen && ct_equal(v[i].bytes, x, xlen))
            found = true;
    return found;
}

static void fmt_time(int64_t t, char *buf, size_t n)
{
    if (t >= 0 && t <= 253402300799LL) {
        char tmp[21];
        rfc3339_format((time_t)t, tmp);
        snprintf(buf, n, "%s", tmp);
    } else {
        snprintf(buf, n, "%lld seconds since 1970", (long long)t);
    }
}

static int appraise_measurement(const struct policy_tee *t, const struct claims *c,
                                struct tether_result *r)
{
    const char *name = "policy.measurement";
    char *exp = t->n_measurements ? pol_values_string(t->measurements, t->n_measurements) : NULL;
    char *act = c->measurement_len ? hex_dup(c->measurement, c->measurement_len) : NULL;
    int rc = 0;
    if (t->n_measurements == 0) {
        result_check(r, name, CHECK_FAIL, "measurement_not_allowed", "(none)", act,
                     "the policy lists no allowed measurement: nothing can pass");
        rc = -1;
    } else if (c->measurement_len == 0 ||
               !pol_value_listed(t->measurements, t->n_measurements, c->measurement,
                             c->measurement_len)) {
        result_check(r, name, CHECK_FAIL, "measurement_not_allowed", exp, act,
                     c->measurement_len ? "measurement not in the policy's allowlist"
                                        : "the evidence carries no measurement");
        rc = -1;
    } else {
        result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
    }
    free(exp);
    free(act);
    return rc;
}

static int appraise_platform(const struct policy *p, const struct claims *c,
                             struct tether_result *r)
{
    const char *name = "policy.platform_id";
    char *act = c->platform_id_len ? hex_dup(c->platform_id, c->platform_id_len) : NULL;
    int rc = 0;
    if (!p->has_platform_ids) {
        result_check(r, name, CHECK_SKIP, NULL, "any platform", act,
                     "no platform_ids allowlist in the policy: any genuine platform with an "
                     "allowed measurement passes, so diversion to another genuine platform is "
                     "not detected");
    } else {
        char *exp = p->n_platform_ids ? pol_values_string(p->platform_ids, p->n_platform_ids) : NULL;
        if (p->n_platform_ids == 0) {
            result_check(r, name, CHECK_FAIL, "platform_not_allowed", "(none)", act,
                         "the policy's platform allowlist is empty: nothing can pass");
            rc = -1;
        } else if (c->platform_id_len == 0) {
            result_check(r, name, CHECK_FAIL, "platform_not_allowed", exp, NULL,
                         "the evidence carries no platform identity");
            rc = -1;
        } else if (!pol_value_listed(p->platform_ids, p->n_platform_ids, c->platform_id,
                                 c->platform_id_len)) {
            result_check(r, name, CHECK_FAIL, "platform_not_allowed", exp, act,
                         "platform not in the policy's allowlist");
            rc = -1;
        } else {
            result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
        }
        free(exp);
    }
    free(act);
    return rc;
}

static int appraise_tcb(const struct policy_tee *t, const struct claims *c,
                        struct tether_result *r)
{
    const char *name = "policy.tcb";
    char exp[32], act[32];
    if (c->has_tcb)
        snprintf(act, sizeof act, "%llu", (unsigned long long)c->tcb);
    if (!t->has_min_tcb) {
        result_check(r, name, CHECK_SKIP, NULL, "any", c->has_tcb ? act : NULL,
                     "no min_tcb in the policy");
        return 0;
    }
    snprintf(exp, sizeof exp, ">= %llu", (unsigned long long)t->min_tcb);
    if (!c->has_tcb) {
        result_check(r, name, CHECK_FAIL, "tcb_too_low", exp, NULL,
                     "the evidence carries no TCB version");
        return -1;
    }
    if (c->tcb < t->min_tcb) {
        result_check(r, name, CHECK_FAIL, "tcb_too_low", exp, act,
                     "TCB version below the policy's minimum");
        return -1;
    }
    result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
    return 0;
}

/* ---- snp (docs/snp.md) ---- */

int pol_list_check(struct tether_result *r, const char *name, const char *code,
                          const struct policy_value *v, size_t n, const uint8_t *x, size_t xlen,
                          const char *what)
{
    char *act = hex_dup(x, xlen);
    if (n == 0) {
        result_check(r, name, CHECK_SKIP, NULL, "any", act, what);
        free(act);
        return 0;
    }
    char *exp = pol_values_string(v, n);
    int rc = 0;
    if (!pol_value_listed(v, n, x, xlen)) {
        result_check(r, name, CHECK_FAIL, code, exp, act, "value not in the policy's list");
        rc = -1;
    } else {
        result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
    }
    free(exp);
    free(act);
    return rc;
}

static int snp_bit_check(struct tether_result *r, const char *name, const char *code,
                         bool set, bool must_be, bool constrained, const char *what,
                         const char *detail)
{
    char exp[96], act[96];
    if (constrained)
        snprintf(exp, sizeof exp, "%s %s", what, must_be ? "set" : "clear");
    else
        snprintf(exp, sizeof exp, "%s set or clear", what);
    snprintf(act, sizeof act, "%s %s", what, set ? "set" : "clear");
    if (constrained && set != must_be) {
        result_check(r, name, CHECK_FAIL, code, exp, act, detail);
        return -1;
    }
    result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
    return 0;
}

/* A POLICY or PLATFORM_INFO bit that newer ABIs added (56860 Table 9; Table 23 PLATFORM_INFO).
 * require: the policy requires the bit set (configured: the require_* key is true; otherwise
 * skip). !require: the policy forbids it (configured: the allow_* key is false; otherwise pass).
 * A bit the report's VERSION does not define is reserved (must be zero) there: it never
 * satisfies a requirement, and when it is set anyway it still fails a prohibition. */
static int snp_feature_check(struct tether_result *r, const char *name, const char *code,
                             const char *what, uint64_t field, unsigned bit, bool defined,
                             uint32_t version, bool require, bool configured, const char *key,
                             const char *detail)
{
    bool set = (field >> bit) & 1;
    char exp[128], act[128], why[192];
    if (defined)
        snprintf(act, sizeof act, "%s %s", what, set ? "set" : "clear");
    else
        snprintf(act, sizeof act, "%s %s (reserved in report version %u)", what,
                 set ? "set" : "clear", version);
    if (!configured) {
        snprintf(exp, sizeof exp, "%s set or clear", what);
        if (require) {
            snprintf(why, sizeof why, "no accept.snp.%s in the policy", key);
            result_check(r, name, CHECK_SKIP, NULL, exp, act, why);
        } else {
            result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
        }
        return 0;
    }
    snprintf(exp, sizeof exp, "%s %s", what, require ? "set" : "clear");
    bool ok = require ? (defined && set) : !set;
    if (ok) {
        result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
        return 0;
    }
    if (require && !defined) {
        snprintf(why, sizeof why, "report version %u predates this bit (reserved, must be zero, "
                 "in that ABI), so the report cannot show it; the policy sets %s", version, key);
        result_check(r, name, CHECK_FAIL, code, exp, act, why);
    } else {
        result_check(r, name, CHECK_FAIL, code, exp, act, detail);
    }
    return -1;
}

int pol_appraise_snp(const struct policy_tee *t, const struct claims *c,
                     struct tether_result *r)
{
    static const char *const tcb_codes[SNP_TCB_N] = {
        "snp_tcb_bootloader_too_low", "snp_tcb_tee_too_low", "snp_tcb_snp_too_low",
        "snp_tcb_microcode_too_low", "snp_tcb_fmc_too_low"};
    const struct policy_snp *sp = t->snp;
    const struct snp_claims *sc = c->tee_data;
    if (!sp || !sc) {
        result_check(r, "policy.snp", CHECK_FAIL, "internal", NULL, NULL,
                     "snp appraisal without snp settings or snp claims");
        return -1;
    }
    const struct snp_report *rep = &sc->report;
    int rc = 0;

    /* policy.tcb: REPORTED_TCB (the TCB the VCEK was derived from and that the evidence
     * chain vouches for; 56860 Table 23) against min_tcb, component by component. */
    {
        uint8_t have[SNP_TCB_N] = {sc->reported.bootloader, sc->reported.tee, sc->reported.snp,
                                   sc->reported.microcode, sc->reported.fmc};
        bool turin = sc->gen == SNP_GEN_TURIN;
        char exp[160] = "", act[160] = "";
        bool any = false;
        int bad = -1;
        for (int i = 0; i < SNP_TCB_N; i++) {
            if (i == SNP_TCB_FMC && !turin) /* only Turin has an FMC component */
                continue;
            size_t u = strlen(act);
            snprintf(act + u, sizeof act - u, "%s%s %u", u ? ", " : "", snp_tcb_names[i],
                     have[i]);
            if (!sp->has_min[i])
                continue;
            u = strlen(exp);
            snprintf(exp + u, sizeof exp - u, "%s%s >= %u", any ? ", " : "", snp_tcb_names[i],
                     sp->min[i]);
            any = true;
            if (have[i] < sp->min[i] && bad < 0)
                bad = i;
        }
        if (!any) {
            result_check(r, "policy.tcb", CHECK_SKIP, NULL, "any", act,
                         "no accept.snp.min_tcb in the policy");
        } else if (bad >= 0) {
            char detail[128];
            snprintf(detail, sizeof detail, "REPORTED_TCB %s SVN %u is below the policy's "
                     "minimum %u", snp_tcb_names[bad], have[bad], sp->min[bad]);
            result_check(r, "policy.tcb", CHECK_FAIL, tcb_codes[bad], exp, act, detail);
            rc = -1;
        } else {
            result_check(r, "policy.tcb", CHECK_PASS, NULL, exp, act, NULL);
        }
    }

    /* policy.snp.firmware: CURRENT_BUILD/MINOR/MAJOR (56860 Table 23). */
    {
        char act[32], exp[40];
        snprintf(act, sizeof act, "%u.%u.%u", rep->current_major, rep->current_minor,
                 rep->current_build);
        if (!sp->has_min_fw) {
            result_check(r, "policy.snp.firmware", CHECK_SKIP, NULL, "any", act,
                         "no accept.snp.min_firmware in the policy");
        } else {
            snprintf(exp, sizeof exp, ">= %u.%u.%u", sp->fw[0], sp->fw[1], sp->fw[2]);
            uint32_t h = (uint32_t)rep->current_major << 16 |
                         (uint32_t)rep->current_minor << 8 | rep->current_build;
            uint32_t w = (uint32_t)sp->fw[0] << 16 | (uint32_t)sp->fw[1] << 8 | sp->fw[2];
            if (h < w) {
                result_check(r, "policy.snp.firmware", CHECK_FAIL, "snp_firmware_too_old", exp,
                             act, "the SEV firmware is older than the policy's minimum");
                rc = -1;
            } else {
                result_check(r, "policy.snp.firmware", CHECK_PASS, NULL, exp, act, NULL);
            }
        }
    }

    /* policy.snp.vmpl: the VMPL that requested the report (56860 Table 23 VMPL). */
    {
        char exp[32], act[32];
        if (sp->has_vmpl)
            snprintf(exp, sizeof exp, "%llu", (unsigned long long)sp->vmpl);
        else
            snprintf(exp, sizeof exp, "<= %llu", (unsigned long long)sp->max_vmpl);
        snprintf(act, sizeof act, "%u", rep->vmpl);
        bool ok = sp->has_vmpl ? rep->vmpl == sp->vmpl : rep->vmpl <= sp->max_vmpl;
        if (!ok) {
            result_check(r, "policy.snp.vmpl", CHECK_FAIL, "snp_vmpl_not_allowed", exp, act,
                         "the report was requested from a VMPL the policy does not allow");
            rc = -1;
        } else {
            result_check(r, "policy.snp.vmpl", CHECK_PASS, NULL, exp, act, NULL);
        }
    }

    /* Guest policy bits (56860 section 4.3 "Guest Policy", Table 9). */
    if (snp_bit_check(r, "policy.snp.migration_agent", "snp_migration_agent_not_allowed",
                      (rep->policy >> 18) & 1, false, !sp->allow_migration_agent,
                      "POLICY.MIGRATE_MA (bit 18)",
                      "the guest may be migrated by a migration agent; the policy does not set "
                      "allow_migration_agent") != 0)
        rc = -1;
    if (snp_bit_check(r, "policy.snp.smt", "snp_smt_not_allowed", (rep->policy >> 16) & 1,
                      false, !sp->allow_smt, "POLICY.SMT (bit 16)",
                      "the guest policy allows SMT; the policy sets allow_smt false") != 0)
        rc = -1;
    if (snp_bit_check(r, "policy.snp.single_socket", "snp_single_socket_required",
                      (rep->policy >> 20) & 1, true, sp->require_single_socket,
                      "POLICY.SINGLE_SOCKET (bit 20)",
                      "the guest may run on several sockets; the policy sets "
                      "require_single_socket") != 0)
        rc = -1;

    /* policy.snp.abi: POLICY.ABI_MAJOR (bits 15:8) . ABI_MINOR (bits 7:0), the minimum
     * firmware ABI the guest owner required at launch (56860 Table 9); the firmware refuses to
     * launch, or to receive by migration, a guest on an older ABI. */
    {
        unsigned maj = (unsigned)((rep->policy >> SNP_POLICY_ABI_MAJOR_SHIFT) & 0xff),
                 min = (unsigned)((rep->policy >> SNP_POLICY_ABI_MINOR_SHIFT) & 0xff);
        char exp[48], act[48];
        snprintf(act, sizeof act, "%u.%u", maj, min);
        if (!sp->has_min_abi) {
            result_check(r, "policy.snp.abi", CHECK_SKIP, NULL, "any", act,
                         "no accept.snp.min_abi in the policy");
        } else {
            snprintf(exp, sizeof exp, ">= %u.%u", sp->abi[0], sp->abi[1]);
            if ((maj << 8 | min) < (sp->abi[0] << 8 | sp->abi[1])) {
                result_check(r, "policy.snp.abi", CHECK_FAIL, "snp_abi_too_old", exp, act,
                             "the guest policy's minimum ABI (POLICY.ABI_MAJOR.ABI_MINOR) is "
                             "below the policy's min_abi");
                rc = -1;
            } else {
                result_check(r, "policy.snp.abi", CHECK_PASS, NULL, exp, act, NULL);
            }
        }
    }

    /* Guest policy bits of ABI 1.55+ (56860 Table 9): 21 CXL_ALLOW, 22 MEM_AES_256_XTS,
     * 23 RAPL_DIS, 24 CIPHERTEXT_HIDING (DRAM), 25 PAGE_SWAP_DISABLE (report version 5+). */
    {
        const struct {
            const char *name, *code, *what, *key, *detail;
            unsigned bit;
            bool require, configured;
        } pb[] = {
            {"policy.snp.cxl", "snp_cxl_not_allowed", "POLICY.CXL_ALLOW (bit 21)", "allow_cxl",
             "the guest policy allows CXL-attached devices and memory; the policy does not set "
             "allow_cxl",
             SNP_POLICY_CXL_ALLOW, false, !sp->allow_cxl},
            {"policy.snp.mem_aes_256_xts", "snp_aes_256_xts_required",
             "POLICY.MEM_AES_256_XTS (bit 22)", "require_aes_256_xts",
             "the guest policy does not require AES-256-XTS memory encryption; the policy sets "
             "require_aes_256_xts",
             SNP_POLICY_MEM_AES_256_XTS, true, sp->require_aes_256_xts},
            {"policy.snp.rapl_disabled", "snp_rapl_disable_required", "POLICY.RAPL_DIS (bit 23)",
             "require_rapl_disabled",
             "the guest policy does not require RAPL to be disabled; the policy sets "
             "require_rapl_disabled",
             SNP_POLICY_RAPL_DIS, true, sp->require_rapl_disabled},
            {"policy.snp.ciphertext_hiding", "snp_ciphertext_hiding_required",
             "POLICY.CIPHERTEXT_HIDING (bit 24)", "require_ciphertext_hiding",
             "the guest policy does not require ciphertext hiding for DRAM; the policy sets "
             "require_ciphertext_hiding",
             SNP_POLICY_CIPHERTEXT_HIDING, true, sp->require_ciphertext_hiding},
            {"policy.snp.page_swap_disabled", "snp_page_swap_disable_required",
             "POLICY.PAGE_SWAP_DISABLE (bit 25)", "require_page_swap_disabled",
             "the guest policy does not disable page swap and page move; the policy sets "
             "require_page_swap_disabled",
             SNP_POLICY_PAGE_SWAP_DISABLE, true, sp->require_page_swap_disabled},
        };
        for (size_t i = 0; i < sizeof pb / sizeof pb[0]; i++)
            if (snp_feature_check(r, pb[i].name, pb[i].code, pb[i].what, rep->policy, pb[i].bit,
                                  snp_policy_bit_defined(rep->version, pb[i].bit), rep->version,
                                  pb[i].require, pb[i].configured, pb[i].key,
                                  pb[i].detail) != 0)
                rc = -1;
    }

    /* PLATFORM_INFO (56860 Table 23, offset 0x040): the host's configuration when the report
     * was made. 0 SMT_EN, 1 TSME_EN, 2 ECC_EN, 3 RAPL_DIS, 4 CIPHERTEXT_HIDING_EN,
     * 5 ALIAS_CHECK_COMPLETE (2..5 from report version 3). */
    {
        const struct {
            const char *name, *code, *what, *key, *detail;
            unsigned bit;
            bool require, configured;
        } ib[] = {
            {"policy.snp.platform.smt", "snp_platform_smt_not_allowed",
             "PLATFORM_INFO.SMT_EN (bit 0)", "allow_smt_enabled",
             "SMT is enabled on the host; the policy sets allow_smt_enabled false",
             SNP_PLATINFO_SMT_EN, false, !sp->allow_smt_enabled},
            {"policy.snp.platform.tsme", "snp_platform_tsme_required",
             "PLATFORM_INFO.TSME_EN (bit 1)", "require_tsme",
             "TSME is not enabled on the host; the policy sets require_tsme",
             SNP_PLATINFO_TSME_EN, true, sp->require_tsme},
            {"policy.snp.platform.ecc", "snp_platform_ecc_required",
             "PLATFORM_INFO.ECC_EN (bit 2)", "require_ecc_memory",
             "the host's memory does not use ECC; the policy sets require_ecc_memory",
             SNP_PLATINFO_ECC_EN, true, sp->require_ecc_memory},
            {"policy.snp.platform.rapl_disabled", "snp_platform_rapl_disable_required",
             "PLATFORM_INFO.RAPL_DIS (bit 3)", "require_rapl_disabled_platform",
             "RAPL is not disabled on the host; the policy sets require_rapl_disabled_platform",
             SNP_PLATINFO_RAPL_DIS, true, sp->require_rapl_disabled_platform},
            {"policy.snp.platform.ciphertext_hiding",
             "snp_platform_ciphertext_hiding_required",
             "PLATFORM_INFO.CIPHERTEXT_HIDING_EN (bit 4)", "require_ciphertext_hiding_platform",
             "ciphertext hiding is not enabled on the host; the policy sets "
             "require_ciphertext_hiding_platform",
             SNP_PLATINFO_CIPHERTEXT_HIDING_EN, true, sp->require_ciphertext_hiding_platform},
            {"policy.snp.platform.alias_check", "snp_platform_alias_check_incomplete",
             "PLATFORM_INFO.ALIAS_CHECK_COMPLETE (bit 5)", "require_alias_check_complete",
             "the firmware has not completed the memory alias check since the last reboot "
             "(BadRAM, CVE-2024-21944); the policy sets require_alias_check_complete",
             SNP_PLATINFO_ALIAS_CHECK_COMPLETE, true, sp->require_alias_check_complete},
        };
        for (size_t i = 0; i < sizeof ib / sizeof ib[0]; i++)
            if (snp_feature_check(r, ib[i].name, ib[i].code, ib[i].what, rep->platform_info,
                                  ib[i].bit,
                                  snp_platform_info_bit_defined(rep->version, ib[i].bit),
                                  rep->version, ib[i].require, ib[i].configured, ib[i].key,
                                  ib[i].detail) != 0)
                rc = -1;
    }

    if (pol_list_check(r, "policy.snp.host_data", "snp_host_data_not_allowed", sp->host_data,
                       sp->n_host_data, rep->host_data, sizeof rep->host_data,
                       "no accept.snp.host_data in the policy") != 0)
        rc = -1;
    if (pol_list_check(r, "policy.snp.id_key_digest", "snp_id_key_not_allowed", sp->id_keys,
                       sp->n_id_keys, rep->id_key_digest, sizeof rep->id_key_digest,
                       "no accept.snp.id_key_digests in the policy") != 0)
        rc = -1;
    if (pol_list_check(r, "policy.snp.author_key_digest", "snp_author_key_not_allowed",
                       sp->author_keys, sp->n_author_keys, rep->author_key_digest,
                       sizeof rep->author_key_digest,
                       "no accept.snp.author_key_digests in the policy") != 0)
        rc = -1;
    /* chip_ids: an 8-byte entry (Turin) matches CHIP_ID's first 8 bytes with 56 zero bytes. */
    {
        size_t n = sc->gen == SNP_GEN_TURIN ||
                           (ct_is_zero(rep->chip_id + 8, 56) && !ct_is_zero(rep->chip_id, 8))
                       ? 8
                       : 64;
        if (pol_list_check(r, "policy.snp.chip_id", "snp_chip_id_not_allowed", sp->chip_ids,
                           sp->n_chip_ids, rep->chip_id, n,
                           "no accept.snp.chip_ids in the policy") != 0)
            rc = -1;
    }
    return rc;
}

static int appraise_debug(const struct policy *p, const struct claims *c,
                          struct tether_result *r)
{
    const char *name = "policy.debug";
    const char *exp = p->allow_debug ? "false or true (allow_debug)" : "false";
    const char *act = c->debug ? "true" : "false";
    if (c->debug && !p->allow_debug) {
        result_check(r, name, CHECK_FAIL, "debug_not_allowed", exp, act,
                     "the TEE runs in debug mode, which lets the host inspect it; the policy "
                     "does not set allow_debug");
        return -1;
    }
    result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
    return 0;
}

static int appraise_age(const struct policy *p, const struct claims *c, time_t now,
                        struct tether_result *r)
{
    const char *name = "policy.evidence_age";
    char exp[128], act[256], created[64], nowbuf[64];
    if (p->max_evidence_age > 0)
        snprintf(exp, sizeof exp, "age <= %lld s, not more than %d s in the future",
                 (long long)p->max_evidence_age, FUTURE_TOLERANCE);
    else
        snprintf(exp, sizeof exp, "any age (no limit), not more than %d s in the future",
                 FUTURE_TOLERANCE);
    if (!c->has_timestamp) {
        result_check(r, name, CHECK_SKIP, NULL, exp, NULL,
                     "the evidence carries no timestamp: its freshness rests on the binder");
        return 0;
    }
    int64_t ts = c->timestamp, n = (int64_t)now;
    fmt_time(ts, created, sizeof created);
    fmt_time(n, nowbuf, sizeof nowbuf);
    /* Differences computed in unsigned arithmetic, only in the direction that is positive. */
    if (ts > n) {
        uint64_t ahead = (uint64_t)ts - (uint64_t)n;
        snprintf(act, sizeof act, "created %s, %llu s in the future (now %s)", created,
                 (unsigned long long)ahead, nowbuf);
        if (ahead > FUTURE_TOLERANCE) {
            result_check(r, name, CHECK_FAIL, "evidence_from_future", exp, act,
                         "the evidence's signed timestamp is later than the time of "
                         "verification");
            return -1;
        }
    } else {
        uint64_t age = (uint64_t)n - (uint64_t)ts;
        snprintf(act, sizeof act, "created %s, age %llu s (now %s)", created,
                 (unsigned long long)age, nowbuf);
        if (p->max_evidence_age > 0 && age > (uint64_t)p->max_evidence_age) {
            result_check(r, name, CHECK_FAIL, "evidence_too_old", exp, act,
                         "the evidence's signed timestamp is older than max_evidence_age_seconds");
            return -1;
        }
    }
    result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
    return 0;
}

int policy_appraise(const struct policy *p, const struct claims *c, time_t now,
                    struct tether_result *r)
{
    if (!p || !c || !r) {
        if (r)
            result_check(r, "policy", CHECK_FAIL, "internal", NULL, NULL,
                         "appraisal called without a policy or claims");
        return -1;
    }
    int rc = 0;
    const struct policy_tee *t = policy_find_tee(p, c->tee);
    char accepted[128] = "";
    for (size_t i = 0; i < p->n_tees; i++) {
        size_t used = strlen(accepted);
        snprintf(accepted + used, sizeof accepted - used, "%s%s",
                 i ? ", " : (p->n_tees > 1 ? "one of: " : ""), p->tees[i].name);
    }
    if (!t) {
        result_check(r, "policy.tee_type", CHECK_FAIL, "tee_not_accepted", accepted,
                     c->tee[0] ? c->tee : NULL, "the policy does not accept this TEE type");
        return -1;
    }
    result_check(r, "policy.tee_type", CHECK_PASS, NULL, accepted, c->tee, NULL);
    /* Every check is evaluated and recorded; after the first failure the result records the
     * rest as "not reached". */
    /* An SGX policy may pin MRSIGNER and the product instead of MRENCLAVE (policy_dcap.c). */
    if (((!t->dcap && !t->tpm) || t->n_measurements) && appraise_measurement(t, c, r) != 0)
        rc = -1;
    if (appraise_platform(p, c, r) != 0)
        rc = -1;
    if (strcmp(t->name, "azure-vtpm") == 0) {
        if (pol_appraise_azure(t, c, r) != 0)
            rc = -1;
    } else if (t->snp) {
        if (pol_appraise_snp(t, c, r) != 0)
            rc = -1;
    } else if (t->dcap) {
        if (pol_appraise_dcap(t, c, r) != 0)
            rc = -1;
    } else if (t->tpm) {
        if (pol_appraise_tpm(t, c, r) != 0)
            rc = -1;
    } else if (appraise_tcb(t, c, r) != 0) {
        rc = -1;
    }
    if (appraise_debug(p, c, r) != 0)
        rc = -1;
    if (appraise_age(p, c, now, r) != 0)
        rc = -1;
    return rc;
}
