/*
 * test_azure.c - the "azure-vtpm" backend (src/evidence/azure/azure_vtpm.c) and the
 * accept["azure-vtpm"] policy (src/policy/policy_azure.c) on evidence built here, end to end
 * through tether_verify: a runtime-claims JSON carrying a test RSA-2048 AK as the HCLAkPub JWK
 * -> an SNP report whose REPORT_DATA is SHA-256(JSON) || 0, signed by the generated test VCEK
 * (tests/lib/snp_fixture.h, test AMD hierarchy) -> the HCL report around both (layout of
 * azure_vtpm.h) -> a vTPM quote by the AK with a 64-byte binder in extraData and SHA-256 PCRs
 * (tests/lib/tpm_fixture.h builds the TPMS_ATTEST; the bare PKCS#1 v1.5 signature is made
 * here, as Azure stores it) -> the TAZV container. Each test breaks one link.
 *
 * The TDX form the same way: the runtime claims -> a TDREPORT whose REPORTDATA is
 * SHA-256(JSON) || 0 in the HCL report (type 4) -> a v4 TD quote over the same REPORTDATA,
 * signed through the generated test PCK hierarchy, with matching signed collateral
 * (tests/lib/tdx_fixture.h; the root is the policy's accept["azure-vtpm"].tdx.trust_anchors,
 * the collateral folder its "collateral" or the verification's) -> the vTPM quote -> the TAZV
 * container with flags 0x0001.
 *
 * With TETHER_AZURE_SEED_DIR set, write_fuzz_seeds_when_asked writes the fuzz seeds
 * (fuzz/seeds/azure_vtpm/) there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tether.h"

#include "evidence/azure/azure_vtpm.h"
#include "evidence/evidence.h"
#include "util/bytes.h"
#include "util/util.h"

#include "lib/snp_fixture.h"
#include "lib/tdx_fixture.h"
#include "lib/tmpdir.h"
#include "lib/tpm_fixture.h"

#define HCL_NV_SIZE 2600 /* Azure's NV index 0x01400001 */
#define VM_ID "5a1e2b3c-0000-4d4d-8e8e-0123456789ab"

static EVP_PKEY *AK, *AK2, *AK3072;
static uint8_t BINDER[64];

/* The TDX form: the test PCK hierarchy (tests/lib/tdx_fixture.h), its root as a PEM file and
 * its collateral (fresh: issued an hour ago, next update in 30 days) in a folder. */
static struct tdx_fx_hier TDX;
static char TDX_DIR[64], TDX_ROOT[128], TDX_COLL[128];

/* ---- building the chain ---- */

/* Unpadded base64url (RFC 4648 section 5): util's base64 in the URL-safe alphabet. */
static char *b64url(const uint8_t *p, size_t n)
{
    char *s = base64_encode(p, n);
    assert_non_null(s);
    size_t o = 0;
    for (size_t i = 0; s[i] && s[i] != '='; i++)
        s[o++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
    s[o] = '\0';
    return s;
}

/* n and e of an RSA key, unpadded base64url of the minimal big-endian octets. */
static void rsa_jwk_parts(EVP_PKEY *k, char **n, char **e)
{
    BIGNUM *bn = NULL, *be = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &bn), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &be), 1);
    uint8_t nb[512], eb[8];
    int nl = BN_bn2bin(bn, nb), el = BN_bn2bin(be, eb);
    *n = b64url(nb, (size_t)nl);
    *e = b64url(eb, (size_t)el);
    BN_free(bn);
    BN_free(be);
}

/* Azure's runtime claims: HCLAkPub = ak, HCLEkPub = another key, the VM configuration. */
static char *claims_json(EVP_PKEY *ak)
{
    char *n, *e, *n2, *e2;
    rsa_jwk_parts(ak, &n, &e);
    rsa_jwk_parts(AK2, &n2, &e2);
    char *s = malloc(4096);
    assert_non_null(s);
    snprintf(s, 4096,
             "{\"keys\":[{\"e\":\"%s\",\"key_ops\":[\"sign\"],\"kid\":\"HCLAkPub\",\"kty\":\"RSA\","
             "\"n\":\"%s\"},{\"e\":\"%s\",\"key_ops\":[\"encrypt\"],\"kid\":\"HCLEkPub\","
             "\"kty\":\"RSA\",\"n\":\"%s\"}],\"vm-configuration\":{\"console-enabled\":false,"
             "\"current-time\":1700000000,\"secure-boot\":true,\"tpm-enabled\":true,"
             "\"vmUniqueId\":\"" VM_ID "\"},\"user-data\":\"%0128d\"}",
             e, n, e2, n2, 0);
    free(n);
    free(e);
    free(n2);
    free(e2);
    return s;
}

struct azspec {
    EVP_PKEY *json_ak;         /* the HCLAkPub of the claims */
    EVP_PKEY *quote_key;       /* signs the quote */
    const char *json;          /* the whole claims JSON instead of claims_json(json_ak) */
    const uint8_t *extra;      /* extraData; default BINDER */
    size_t extra_len;
    struct tpm_pcr_bank banks[2]; /* quoted PCR values (default: SHA-256 PCRs 0..7) */
    size_t n_banks;
    const struct tpm_pcr_bank *supplied; /* container values; NULL: banks */
    size_t n_supplied;
    /* HCL knobs */
    uint32_t magic, version, request_type, data_version, report_type, hash_type;
    int64_t report_size_delta, data_size_delta, vsize_delta;
    bool no_claims;            /* variable_data_size 0 */
    size_t hcl_len;            /* 0: max(2600, 0x4D4 + JSON) */
    bool json_flip;            /* change one JSON byte after the report was signed over it */
    bool rd_tail;              /* REPORT_DATA[63] = 1 */
    bool snp_tamper;           /* change MEASUREMENT after signing */
    uint64_t snp_policy_bits;
    /* the TDX form (tdx_azspec) */
    bool tdx;                  /* a TDREPORT in the HCL report and a TD quote in the container */
    bool container_snp;        /* ... but the container says SEV-SNP (flags 0, no TD quote) */
    const struct tdx_fx_td *td; /* NULL: the fixture's default TD */
    bool td_quote_tamper;      /* change RTMR0 in the TD quote after signing */
    bool tdreport_rd_flip;     /* the TDREPORT's REPORTDATA differs from the quote's */
    uint8_t tdreport_type;     /* REPORTTYPE.TYPE (0: 0x81) */
};

static void pcr_fill(struct tpm_pcr_bank *b, uint16_t alg, uint32_t mask, uint8_t base)
{
    memset(b, 0, sizeof *b);
    b->hash_alg = alg;
    b->present = mask;
    for (unsigned i = 0; i < TPM_PCRS; i++)
        if (mask & (1u << i))
            memset(b->value[i], base + i, tpm_hash_size(alg));
}

static struct azspec default_azspec(void)
{
    struct azspec s;
    memset(&s, 0, sizeof s);
    s.json_ak = AK;
    s.quote_key = AK;
    s.magic = AZURE_HCL_SIGNATURE;
    s.version = 2;
    s.request_type = AZURE_HCL_REQUEST_TYPE_AK_CERT;
    s.data_version = AZURE_HCL_REQUEST_DATA_VERSION;
    s.report_type = AZURE_HCL_REPORT_TYPE_SNP;
    s.hash_type = AZURE_HCL_HASH_SHA256;
    pcr_fill(&s.banks[0], TPM_ALG_SHA256, 0xff, 0x40);
    s.n_banks = 1;
    return s;
}

static struct azspec tdx_azspec(void)
{
    struct azspec s = default_azspec();
    s.tdx = true;
    s.report_type = AZURE_HCL_REPORT_TYPE_TDX;
    return s;
}

static void put32le(uint8_t *p, uint32_t v)
{
    snp_fx_put32(p, v);
}

/* The HCL report; rd_out gets the REPORT_DATA the hardware report (SNP) carries or the TD
 * quote must carry (TDX). */
static uint8_t *build_hcl(const struct azspec *s, size_t *len, uint8_t rd_out[64])
{
    char *own = s->json ? NULL : claims_json(s->json_ak);
    const char *json = s->json ? s->json : own;
    size_t jl = strlen(json);
    uint8_t rd[64];
    memset(rd, 0, sizeof rd);
    unsigned int dl = 0;
    assert_int_equal(EVP_Digest(json, jl, rd, &dl, EVP_sha256(), NULL), 1);
    if (s->rd_tail)
        rd[63] = 1;
    memcpy(rd_out, rd, 64);
    uint8_t rep[SNP_REPORT_LEN];
    if (s->tdx) {
        /* A TDREPORT and 160 bytes of padding where the SNP report would be. */
        memset(rep, 0, sizeof rep);
        uint8_t trd[64];
        memcpy(trd, rd, 64);
        if (s->tdreport_rd_flip)
            trd[5] ^= 0x40;
        tdx_fx_build_tdreport(s->td, trd, rep);
        if (s->tdreport_type)
            rep[0] = s->tdreport_type;
    } else {
        struct snp_fx_spec rs = snp_fx_default_spec();
        rs.report_data = rd;
        rs.policy |= s->snp_policy_bits;
        snp_fx_build_report(&rs, snp_fx.vcek_key, rep);
        if (s->snp_tamper)
            rep[0x90] ^= 1;
    }

    size_t n = s->hcl_len ? s->hcl_len : AZURE_HCL_CLAIMS_OFF + jl;
    if (!s->hcl_len && n < HCL_NV_SIZE)
        n = HCL_NV_SIZE;
    size_t cap = n > AZURE_HCL_CLAIMS_OFF + jl ? n : AZURE_HCL_CLAIMS_OFF + jl;
    uint8_t *h = calloc(1, cap);
    assert_non_null(h);
    uint32_t vsize = s->no_claims ? 0 : (uint32_t)((int64_t)jl + s->vsize_delta);
    put32le(h + 0x00, s->magic);
    put32le(h + 0x04, s->version);
    put32le(h + 0x08, (uint32_t)((int64_t)AZURE_HCL_CLAIMS_OFF + (int64_t)vsize +
                                 s->report_size_delta));
    put32le(h + 0x0C, s->request_type);
    memcpy(h + AZURE_HCL_HW_REPORT_OFF, rep, sizeof rep);
    put32le(h + 0x4C0, (uint32_t)((int64_t)AZURE_HCL_REQUEST_DATA_LEN + (int64_t)vsize +
                                  s->data_size_delta));
    put32le(h + 0x4C4, s->data_version);
    put32le(h + 0x4C8, s->report_type);
    put32le(h + 0x4CC, s->hash_type);
    put32le(h + 0x4D0, vsize);
    memcpy(h + AZURE_HCL_CLAIMS_OFF, json, jl);
    if (s->json_flip) {
        /* One character of the VM id: still valid JSON, no longer what was signed. */
        size_t il = strlen(VM_ID), k = 0;
        while (k + il <= jl && memcmp(h + AZURE_HCL_CLAIMS_OFF + k, VM_ID, il) != 0)
            k++;
        assert_true(k + il <= jl);
        h[AZURE_HCL_CLAIMS_OFF + k] ^= 1;
    }
    free(own);
    *len = n;
    return h;
}

/* The quote (TPMS_ATTEST, tests/lib/tpm_fixture.h) and its bare RSASSA-PKCS1-v1_5 SHA-256
 * signature. */
static uint8_t *build_quote(const struct azspec *s, size_t *alen, uint8_t sig[256], size_t *slen)
{
    struct tpm_fixture_attest a;
    uint8_t digest[TPM_MAX_DIGEST];
    tpm_fixture_default_attest(&a);
    tpm_fixture_attest_pcrs(&a, s->banks, s->n_banks, TPM_ALG_SHA256, digest);
    a.extra = s->extra ? s->extra : BINDER;
    a.extra_len = s->extra ? s->extra_len : sizeof BINDER;
    uint8_t *att = tpm_fixture_build_attest(&a, alen);
    uint8_t *raw = tpm_fixture_sign_raw(s->quote_key, TPM_FIXTURE_PKCS1, TPM_ALG_SHA256, att,
                                        *alen, slen);
    assert_true(*slen <= 256);
    memcpy(sig, raw, *slen);
    free(raw);
    return att;
}

/* The TAZV encoding of e (asserting the encoder accepts it). */
static uint8_t *encode(const struct azure_vtpm_evidence *e, size_t *len)
{
    struct bytes_writer w;
    writer_init(&w, AZURE_VTPM_MAX);
    assert_int_equal(azure_vtpm_evidence_encode(e, &w), 0);
    uint8_t *out = writer_take(&w, len);
    assert_non_null(out);
    return out;
}

static uint8_t *build_evidence(const struct azspec *s, size_t *len)
{
    struct azure_vtpm_evidence e;
    memset(&e, 0, sizeof e);
    uint8_t sig[256];
    size_t sl = 0;
    uint8_t rd[64];
    uint8_t *hcl = build_hcl(s, &e.hcl_len, rd);
    uint8_t *att = build_quote(s, &e.attest_len, sig, &sl);
    struct tdx_fx_buf tq = {0};
    if (s->tdx) {
        /* The TD quote the host made for the TDREPORT: the same REPORTDATA. */
        tdx_fx_build_quote(&TDX, s->td, rd, &tq);
        if (s->td_quote_tamper)
            tq.p[DCAP_HEADER_LEN + 328] ^= 1; /* RTMR0, inside the signed body */
        e.tdx = !s->container_snp;
        e.td_quote = e.tdx ? tq.p : NULL;
        e.td_quote_len = e.tdx ? tq.len : 0;
    }
    e.hcl = hcl;
    e.attest = att;
    e.signature = sig;
    e.signature_len = sl;
    const struct tpm_pcr_bank *sup = s->supplied ? s->supplied : s->banks;
    e.n_banks = s->supplied ? s->n_supplied : s->n_banks;
    for (size_t i = 0; i < e.n_banks; i++)
        e.banks[i] = sup[i];
    uint8_t *out = encode(&e, len);
    free(hcl);
    free(att);
    tdx_fx_buf_free(&tq);
    return out;
}

/* ---- the policy and the pipeline ---- */

static char *hexs(const uint8_t *p, size_t n)
{
    char *h = hex_dup(p, n);
    assert_non_null(h);
    return h;
}

/* tmpl with every "@1" replaced by v1 and "@2" by v2, into out. */
static void subst(char *out, size_t cap, const char *tmpl, const char *v1, const char *v2)
{
    size_t o = 0;
    for (const char *c = tmpl; *c; c++) {
        const char *v = c[0] == '@' && c[1] == '1' ? v1 : c[0] == '@' && c[1] == '2' ? v2 : NULL;
        size_t vl = v ? strlen(v) : 1;
        assert_true(o + vl < cap);
        if (v) {
            memcpy(out + o, v, vl);
            c++;
        } else {
            out[o] = *c;
        }
        o += vl;
    }
    out[o] = '\0';
}

/* The "pcrs" value of accept["azure-vtpm"].tpm for SHA-256 PCR idx = 32 bytes of fill. */
static void pcr_json(char *out, size_t cap, unsigned idx, uint8_t fill)
{
    uint8_t v[32];
    memset(v, fill, sizeof v);
    char *h = hexs(v, 32);
    snprintf(out, cap, "{\"sha256\":{\"%u\":\"%s\"}}", idx, h);
    free(h);
}

/* SHA-256 PCR 0 and 7 as quoted by default (default_azspec). */
static void default_pcrs_json(char *out, size_t cap)
{
    uint8_t p0[32], p7[32];
    memset(p0, 0x40, sizeof p0);
    memset(p7, 0x47, sizeof p7);
    char *h0 = hexs(p0, 32), *h7 = hexs(p7, 32);
    snprintf(out, cap, "{\"sha256\":{\"0\":\"%s\",\"7\":\"%s\"}}", h0, h7);
    free(h0);
    free(h7);
}

/* accept["azure-vtpm"]: the test ARK, MEAS, and SHA-256 PCR 0 and 7 as quoted by default;
 * snp_extra and tpm_pcrs (whole "pcrs" value) replace parts when given. */
static char *policy_json(const char *snp_extra, const char *tpm_pcrs)
{
    char pcrs[256];
    default_pcrs_json(pcrs, sizeof pcrs);
    char *m = hexs(SNP_FX_MEAS, 48);
    char *s = malloc(4096);
    assert_non_null(s);
    snprintf(s, 4096,
             "{\"tether_policy\":1,\"accept\":{\"azure-vtpm\":{\"snp\":{\"trust_anchors\":"
             "[\"%s\"],\"measurements\":[\"%s\"]%s%s},\"tpm\":{\"pcrs\":%s}}}}",
             snp_fx.ark_path, m, snp_extra ? "," : "", snp_extra ? snp_extra : "",
             tpm_pcrs ? tpm_pcrs : pcrs);
    free(m);
    return s;
}

/* accept["azure-vtpm"] for the TDX form: {"tdx": {"trust_anchors": [the test root],
 * "collateral": [the folder] when with_coll, "mrtd": [the default TD's, or mrtd_hex], and
 * tdx_extra}, "tpm": {"pcrs": SHA-256 PCR 0 and 7 as quoted by default}}. */
static char *tdx_policy_json(const char *tdx_extra, bool with_coll, const char *mrtd_hex)
{
    struct tdx_fx_td td;
    tdx_fx_default_td(&td);
    char pcrs[256];
    default_pcrs_json(pcrs, sizeof pcrs);
    char *m = hexs(td.mrtd, 48);
    char coll[200] = "";
    if (with_coll)
        snprintf(coll, sizeof coll, ",\"collateral\":[\"%s\"]", TDX_COLL);
    char *s = malloc(4096);
    assert_non_null(s);
    snprintf(s, 4096,
             "{\"tether_policy\":1,\"accept\":{\"azure-vtpm\":{\"tdx\":{\"trust_anchors\":"
             "[\"%s\"]%s,\"mrtd\":[\"%s\"]%s%s},\"tpm\":{\"pcrs\":%s}}}}",
             TDX_ROOT, coll, mrtd_hex ? mrtd_hex : m, tdx_extra ? "," : "",
             tdx_extra ? tdx_extra : "", pcrs);
    free(m);
    return s;
}

/* pol (a policy_json or tdx_policy_json) with the top-level platform_ids allowlist [id]. */
static char *with_platform_id(const char *pol, const uint8_t *id, size_t n)
{
    char *h = hexs(id, n);
    size_t cap = strlen(pol) + 256;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s,\"platform_ids\":[\"%s\"]}", (int)strlen(pol) - 1, pol, h);
    free(h);
    return out;
}

/* pol with the anchor also added right after its anchor path. */
static char *with_anchor(const char *pol, const char *path, const char *also)
{
    const char *at = strstr(pol, path);
    assert_non_null(at);
    size_t cap = strlen(pol) + 512;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s%s\",\"%s", (int)(at - pol), pol, path, also);
    snprintf(out + strlen(out), cap - strlen(out), "%s", at + strlen(path));
    return out;
}

struct outcome {
    bool passed;
    char check[64];
    char code[64];
    char *json;
};

static void outcome_free(struct outcome *o)
{
    free(o->json);
    o->json = NULL;
}

static struct tether_config *config_with(const char *policy)
{
    struct tether_config *cfg = tether_config_new();
    assert_non_null(cfg);
    if (policy && tether_config_set_policy_json(cfg, policy, NULL) != 0)
        fail_msg("policy: %s", tether_config_error(cfg));
    return cfg;
}

static struct outcome run_cfg(struct tether_config *cfg, const uint8_t *ev, size_t len,
                              const uint8_t *binder, const char *const *coll)
{
    struct outcome o;
    memset(&o, 0, sizeof o);
    struct tether_verify_params p = {.evidence = ev,
                                     .evidence_len = len,
                                     .type = "azure-vtpm",
                                     .binder = binder,
                                     .binder_len = binder ? 64 : 0,
                                     .collateral = coll};
    struct tether_result *r = tether_verify(cfg, &p);
    assert_non_null(r);
    o.passed = tether_result_passed(r) == 1;
    snprintf(o.check, sizeof o.check, "%s", tether_result_failed_check(r));
    snprintf(o.code, sizeof o.code, "%s", tether_result_failed_code(r));
    o.json = strdup(tether_result_json(r));
    tether_result_free(r);
    return o;
}

static struct outcome run_with(const uint8_t *ev, size_t len, const char *policy,
                               const uint8_t *binder, const char *const *coll)
{
    struct tether_config *cfg = config_with(policy);
    struct outcome o = run_cfg(cfg, ev, len, binder, coll);
    tether_config_free(cfg);
    return o;
}

#define COLL ((const char *const[]){snp_fx.vcek_path, snp_fx.ask_path, NULL})

/* What a verification of s's form gets by default: the policy (policy_json, or
 * tdx_policy_json with its collateral folder) and --collateral (the VCEK and ASK, or none). */
static char *default_policy(const struct azspec *s)
{
    return s->tdx ? tdx_policy_json(NULL, true, NULL) : policy_json(NULL, NULL);
}

static const char *const *default_coll(const struct azspec *s)
{
    static const char *snp_coll[3];
    snp_coll[0] = snp_fx.vcek_path;
    snp_coll[1] = snp_fx.ask_path;
    return s->tdx ? NULL : snp_coll;
}

/* Build from s, verify with policy (NULL: its form's default), the binder and its form's
 * collateral. */
static struct outcome run_spec(const struct azspec *s, const char *policy)
{
    size_t len = 0;
    uint8_t *ev = build_evidence(s, &len);
    char *own = policy ? NULL : default_policy(s);
    struct outcome o = run_with(ev, len, policy ? policy : own, BINDER, default_coll(s));
    free(own);
    free(ev);
    return o;
}

/* Evidence built from a spec, with its form's default policy. */
struct built {
    uint8_t *ev;
    size_t len;
    char *pol;
};

static struct built built_new(const struct azspec *s)
{
    struct built b;
    b.ev = build_evidence(s, &b.len);
    b.pol = default_policy(s);
    return b;
}

static void built_free(struct built *b)
{
    free(b->ev);
    free(b->pol);
}

/* o failed at check with code (NULL: any code), or passed when check is NULL; what names the
 * case. Frees o. */
static void expect_outcome(const char *what, struct outcome *o, const char *check,
                           const char *code)
{
    bool ok = check ? !o->passed && strcmp(o->check, check) == 0 &&
                          (!code || strcmp(o->code, code) == 0)
                    : o->passed;
    if (!ok)
        fail_msg("%s: expected %s/%s, got %s %s/%s\n%s", what, check ? check : "pass",
                 code ? code : "*", o->passed ? "pass" : "fail", o->check, o->code, o->json);
    outcome_free(o);
}

static void expect_fail(struct outcome *o, const char *check, const char *code)
{
    expect_outcome("verification", o, check, code);
}

static void expect_pass(struct outcome *o)
{
    expect_outcome("verification", o, NULL, NULL);
}

/* s verified with policy (freed here; NULL: its form's default): as expect_outcome. */
static void expect_spec(const char *what, const struct azspec *s, char *policy,
                        const char *check, const char *code)
{
    struct outcome o = run_spec(s, policy);
    free(policy);
    expect_outcome(what, &o, check, code);
}

/* The spec init (default_azspec() or tdx_azspec()) changed by the statements body (on s),
 * verified with its form's defaults, fails at check/code (or passes: check NULL). */
#define EXPECT_CASE(what, init, body, check, code)                                           \
    do {                                                                                     \
        struct azspec s = init;                                                              \
        body;                                                                                \
        expect_spec(what, &s, NULL, check, code);                                            \
    } while (0)
#define EXPECT(init, body, check, code) EXPECT_CASE(#body, init, body, check, code)

/* The verification passes and its report carries every string of must, and the hex claims
 * measurement, platform_id and report_data (= BINDER). */
static void expect_full_chain(const uint8_t *ev, size_t len, const char *pol,
                              const char *const *coll, const char *const *must, size_t n_must,
                              const uint8_t meas[48], const uint8_t *pid, size_t pid_len)
{
    struct outcome o = run_with(ev, len, pol, BINDER, coll);
    if (!o.passed)
        fail_msg("expected pass, got %s/%s\n%s", o.check, o.code, o.json);
    if (getenv("TETHER_TEST_VERBOSE"))
        fprintf(stderr, "%s\n", o.json);
    for (size_t i = 0; i < n_must; i++)
        if (!strstr(o.json, must[i]))
            fail_msg("missing %s in\n%s", must[i], o.json);
    const struct {
        const char *key;
        const uint8_t *p;
        size_t n;
    } hex[] = {{"measurement", meas, 48},
               {"platform_id", pid, pid_len},
               {"report_data", BINDER, 64}};
    for (size_t i = 0; i < sizeof hex / sizeof hex[0]; i++) {
        char *h = hexs(hex[i].p, hex[i].n), want[256];
        snprintf(want, sizeof want, "\"%s\":\"%s\"", hex[i].key, h);
        if (!strstr(o.json, want))
            fail_msg("missing %s in\n%s", want, o.json);
        free(h);
    }
    outcome_free(&o);
    /* The top-level platform_ids allowlist is the platform identity. */
    char *pol2 = with_platform_id(pol, pid, pid_len);
    o = run_with(ev, len, pol2, BINDER, coll);
    expect_pass(&o);
    free(pol2);
}

/* The evidence of s with a binder that differs from BINDER in byte i: binding.report_data. */
static void expect_binder_mismatch(const struct azspec *s, const struct built *b, size_t i,
                                   uint8_t bit)
{
    uint8_t other[64];
    memcpy(other, BINDER, 64);
    other[i] ^= bit;
    struct outcome o = run_with(b->ev, b->len, b->pol, other, default_coll(s));
    expect_fail(&o, "binding.report_data", "binder_mismatch");
}

/* Parsing any proper prefix of ev fails with a reason; verifying every step-th one (with pol
 * and coll) fails evidence.format. */
static void expect_prefixes_refused(const uint8_t *ev, size_t len, const char *pol,
                                    const char *const *coll, size_t step)
{
    for (size_t n = 1; n < len; n++) {
        struct azure_vtpm_evidence e;
        const char *why = NULL;
        assert_int_equal(azure_vtpm_evidence_parse(ev, n, &e, &why), -1);
        assert_non_null(why);
    }
    struct tether_config *cfg = config_with(pol);
    for (size_t n = 1; n < len; n += step) {
        struct outcome o = run_cfg(cfg, ev, n, BINDER, coll);
        expect_fail(&o, "evidence.format", "evidence_malformed");
    }
    tether_config_free(cfg);
}

/* e encodes to exactly ev. */
static void expect_reencodes(const struct azure_vtpm_evidence *e, const uint8_t *ev, size_t len)
{
    size_t l2 = 0;
    uint8_t *again = encode(e, &l2);
    assert_int_equal(l2, len);
    assert_memory_equal(again, ev, len);
    free(again);
}

/* The encoder refuses e, as the parser would refuse its encoding. */
static void expect_encode_refused(const struct azure_vtpm_evidence *e)
{
    struct bytes_writer w;
    writer_init(&w, AZURE_VTPM_MAX);
    assert_int_equal(azure_vtpm_evidence_encode(e, &w), -1);
    writer_free(&w);
}

/* Case i: setting the policy json fails with want in the message. */
static void expect_policy_refused(size_t i, const char *json, const char *want)
{
    struct tether_config *cfg = tether_config_new();
    if (tether_config_set_policy_json(cfg, json, NULL) == 0)
        fail_msg("case %zu accepted: %s", i, json);
    if (!strstr(tether_config_error(cfg), want))
        fail_msg("case %zu: \"%s\" not in \"%s\"", i, want, tether_config_error(cfg));
    tether_config_free(cfg);
}

/* ---- setup ---- */

static void write_buf(const char *dir, const char *name, const struct tdx_fx_buf *b)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(file_write(path, b->p, b->len, 0644), 0);
}

/* The test PCK hierarchy, its root (TDX_ROOT) and its collateral folder (TDX_COLL). */
static int tdx_setup(void)
{
    snprintf(TDX_DIR, sizeof TDX_DIR, "/tmp/tether-aztdx-XXXXXX");
    if (!mkdtemp(TDX_DIR))
        return -1;
    tdx_fx_generate(&TDX);
    snprintf(TDX_ROOT, sizeof TDX_ROOT, "%s/root.pem", TDX_DIR);
    snprintf(TDX_COLL, sizeof TDX_COLL, "%s/collateral", TDX_DIR);
    if (mkdir(TDX_COLL, 0700) != 0)
        return -1;
    struct tdx_fx_buf root = {0};
    tdx_fx_append_pem(&root, TDX.root);
    write_buf(TDX_DIR, "root.pem", &root);
    tdx_fx_buf_free(&root);
    time_t now = time(NULL);
    struct tdx_fx_collateral c;
    tdx_fx_collateral(&TDX, now - 3600, now + 30 * TDX_FX_DAY, false, &c);
    struct tdx_fx_file files[TDX_FX_COLLATERAL_FILES];
    tdx_fx_collateral_files(&c, files);
    for (size_t i = 0; i < TDX_FX_COLLATERAL_FILES; i++)
        write_buf(TDX_COLL, files[i].name, files[i].buf);
    tdx_fx_collateral_free(&c);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (snp_fx_setup() != 0 || tdx_setup() != 0)
        return -1;
    AK = EVP_RSA_gen(2048);
    AK2 = EVP_RSA_gen(2048);
    AK3072 = EVP_RSA_gen(3072);
    for (size_t i = 0; i < sizeof BINDER; i++)
        BINDER[i] = (uint8_t)(0xb0 ^ i);
    return AK && AK2 && AK3072 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(AK);
    EVP_PKEY_free(AK2);
    EVP_PKEY_free(AK3072);
    tdx_fx_hier_free(&TDX);
    if (TDX_DIR[0])
        tmpdir_remove(TDX_DIR);
    return snp_fx_teardown();
}

/* ---- checks both forms share ---- */

/* The runtime claims altered after the hardware report (or TD quote) committed to them, or a
 * REPORT_DATA whose second half is not zero. */
static void hcl_binding_fails(struct azspec (*form)(void))
{
    EXPECT(form(), s.json_flip = true, "evidence.hcl_binding", "azure_hcl_binding_mismatch");
    EXPECT(form(), s.rd_tail = true, "evidence.hcl_binding", "azure_hcl_binding_mismatch");
}

/* The vTPM links: a quote by another key than HCLAkPub, claims that name another AK than the
 * one that quoted, PCR values that are not the quoted ones. */
static void vtpm_links_fail(struct azspec (*form)(void))
{
    EXPECT(form(), s.quote_key = AK2, "evidence.tpm_signature", "evidence_signature_invalid");
    EXPECT(form(), s.json_ak = AK2, "evidence.tpm_signature", "evidence_signature_invalid");
    struct tpm_pcr_bank other;
    pcr_fill(&other, TPM_ALG_SHA256, 0xff, 0x41);
    EXPECT(form(), s.supplied = &other; s.n_supplied = 1, "evidence.pcrs",
           "tpm_pcr_digest_mismatch");
}

/* ---- tests ---- */

static void full_chain_passes(void **state)
{
    (void)state;
    struct azspec s = default_azspec();
    struct built b = built_new(&s);
    const struct evidence_backend *be = evidence_backend_recognise(b.ev, b.len);
    assert_non_null(be);
    assert_string_equal(be->name, "azure-vtpm");
    assert_string_equal(be->media_type, "application/vnd.tether.azure-vtpm+binary");
    const char *must[] = {"\"tee\":\"azure-vtpm\"", "\"vm_id\":\"" VM_ID "\"",
                          "\"name\":\"evidence.hcl_binding\"", "\"name\":\"evidence.ak\"",
                          "\"name\":\"evidence.tpm_signature\"", "\"name\":\"evidence.pcrs\"",
                          "\"name\":\"evidence.tcb_binding\"",
                          "\"name\":\"policy.tpm.pcr.sha256.7\"",
                          "\"name\":\"policy.snp.vmpl\"", "\"snp_signing_key\":\"VCEK\""};
    /* The platform identity (and platform_ids allowlist) is the SNP CHIP_ID. */
    expect_full_chain(b.ev, b.len, b.pol, COLL, must, sizeof must / sizeof must[0], SNP_FX_MEAS,
                      snp_fx.chip, 64);
    built_free(&b);
}

static void binder_mismatch_fails_at_binding(void **state)
{
    (void)state;
    struct azspec s = default_azspec();
    struct built b = built_new(&s);
    expect_binder_mismatch(&s, &b, 7, 0x20);
    /* The SNP REPORT_DATA is the HCL binding, never the connection's: a quote without a
     * 64-byte extraData has no report_data even though the SNP report has one. */
    s.extra = BINDER;
    s.extra_len = 32;
    struct outcome o = run_spec(&s, b.pol);
    expect_fail(&o, "binding.report_data", "binder_mismatch");
    built_free(&b);
}

static void altered_runtime_claims_fail_hcl_binding(void **state)
{
    (void)state;
    hcl_binding_fails(default_azspec);
}

static void swapped_ak_fails_tpm_signature(void **state)
{
    (void)state;
    vtpm_links_fail(default_azspec);
    /* Only RSA-2048 (the quote is AK's: the AK check comes first). */
    EXPECT(default_azspec(), s.json_ak = AK3072, "evidence.ak", "azure_ak_invalid");
}

static void pcr_mismatch_fails(void **state)
{
    (void)state;
    struct azspec spec = default_azspec();
    char pcrs[256];
    /* The policy wants another value for PCR 7; a PCR the quote does not cover. */
    pcr_json(pcrs, sizeof pcrs, 7, 0x99);
    expect_spec("PCR 7", &spec, policy_json(NULL, pcrs), "policy.tpm.pcr.sha256.7",
                "tpm_pcr_mismatch");
    pcr_json(pcrs, sizeof pcrs, 9, 0x99);
    expect_spec("PCR 9", &spec, policy_json(NULL, pcrs), "policy.tpm.pcr.sha256.9",
                "tpm_pcr_not_quoted");
    /* Supplied values that are not the quoted ones: PCR 7 missing, an unquoted bank. */
    struct tpm_pcr_bank other, two[2];
    pcr_fill(&other, TPM_ALG_SHA256, 0x7f, 0x40);
    two[0] = spec.banks[0];
    pcr_fill(&two[1], TPM_ALG_SHA1, 0x1, 0x10);
    EXPECT(default_azspec(), s.supplied = &other; s.n_supplied = 1, "evidence.pcrs",
           "tpm_pcr_selection_mismatch");
    EXPECT(default_azspec(), s.supplied = two; s.n_supplied = 2, "evidence.pcrs",
           "tpm_pcr_selection_mismatch");
    /* Two quoted banks pass. */
    pcr_fill(&spec.banks[1], TPM_ALG_SHA1, 0x80001, 0x20);
    spec.n_banks = 2;
    struct outcome o = run_spec(&spec, NULL);
    if (!o.passed || !strstr(o.json, "\"sha1\":{"))
        fail_msg("expected a pass with a sha1 bank, got %s/%s\n%s", o.check, o.code, o.json);
    outcome_free(&o);
}

static void tampered_snp_report_fails_snp_checks(void **state)
{
    (void)state;
    EXPECT(default_azspec(), s.snp_tamper = true, "evidence.signature",
           "evidence_signature_invalid");
    /* No VCEK: the snp backend's own failure. */
    struct azspec s = default_azspec();
    struct built b = built_new(&s);
    struct outcome o = run_with(b.ev, b.len, b.pol, BINDER, NULL);
    expect_fail(&o, "evidence.chain", "snp_signing_cert_missing");
    /* Without the test ARK as a policy anchor: AMD's roots do not vouch for it. */
    char *m = hexs(SNP_FX_MEAS, 48);
    char nopol[512];
    snprintf(nopol, sizeof nopol,
             "{\"tether_policy\":1,\"accept\":{\"azure-vtpm\":{\"snp\":{\"measurements\":"
             "[\"%s\"]},\"tpm\":{\"pcrs\":{\"sha256\":{\"0\":\"%064d\"}}}}}}", m, 0);
    o = run_with(b.ev, b.len, nopol, BINDER, COLL);
    expect_fail(&o, "evidence.chain", "evidence_chain_untrusted");
    free(m);
    built_free(&b);
}

static void snp_policy_applies(void **state)
{
    (void)state;
    struct azspec spec = default_azspec();
    expect_spec("min_tcb", &spec, policy_json("\"min_tcb\":{\"snp\":9}", NULL), "policy.tcb",
                "snp_tcb_snp_too_low");
    expect_spec("min_tcb, min_firmware, max_vmpl", &spec,
                policy_json("\"min_tcb\":{\"snp\":8},\"min_firmware\":\"1.55.29\","
                            "\"max_vmpl\":0", NULL),
                NULL, NULL);
    expect_spec("allow_smt", &spec, policy_json("\"allow_smt\":false", NULL), "policy.snp.smt",
                "snp_smt_not_allowed");
    EXPECT(default_azspec(), s.snp_policy_bits = 1ull << 19 /* DEBUG */, "policy.debug",
           "debug_not_allowed");
    /* The measurement is the SNP MEASUREMENT. */
    char *pol = policy_json(NULL, NULL);
    char *mh = hexs(SNP_FX_MEAS, 48);
    char *at = strstr(pol, mh);
    assert_non_null(at);
    at[0] = at[0] == '0' ? '1' : '0';
    free(mh);
    expect_spec("another measurement", &spec, pol, "policy.measurement", "measurement_not_allowed");
}

static void malformed_hcl_fails_format(void **state)
{
    (void)state;
#define CASE(label, body)                                                                    \
    EXPECT_CASE(label, default_azspec(), body, "evidence.format", "evidence_malformed")
    CASE("report_size + 1", s.report_size_delta = 1);
    CASE("report_size - 1", s.report_size_delta = -1);
    CASE("report_size = NV size", s.report_size_delta = 100000);
    CASE("data_size + 4", s.data_size_delta = 4);
    CASE("data_size - 1", s.data_size_delta = -1);
    CASE("claims beyond the report", s.vsize_delta = 2000; s.report_size_delta = 0);
    CASE("claims size 0", s.no_claims = true);
    CASE("signature", s.magic = 0x41434c48);
    CASE("version 3", s.version = 3);
    CASE("version 0", s.version = 0);
    CASE("request type 1", s.request_type = 1);
    CASE("request data version 2", s.data_version = 2);
    CASE("TDX report type", s.report_type = AZURE_HCL_REPORT_TYPE_TDX);
    CASE("report type 3", s.report_type = 3);
    CASE("SHA-384 hash type", s.hash_type = 2);
    CASE("HCL cut inside the claims", s.hcl_len = AZURE_HCL_CLAIMS_OFF + 10);
    CASE("HCL cut inside the fixed part", s.hcl_len = AZURE_HCL_CLAIMS_OFF - 1);
    /* Runtime claims that are not strict JSON (sizes consistent: the hash covers them). */
    CASE("duplicate key", s.json = "{\"keys\":[],\"keys\":[]}");
    CASE("a NUL after the JSON", s.vsize_delta = 1);
    CASE("NUL inside a string", s.json = "{\"keys\":[],\"a\":\"\\u0000\"}");
    CASE("array", s.json = "[{\"keys\":[]}]");
    CASE("bytes after the value", s.json = "{\"keys\":[]} {}");
    CASE("not JSON", s.json = "keys");
#undef CASE
    /* A quote that is not a TPMS_ATTEST quote, a 255-byte signature, a trailing byte. */
    struct azspec s = default_azspec();
    struct built b = built_new(&s);
    struct azure_vtpm_evidence e;
    assert_int_equal(azure_vtpm_evidence_parse(b.ev, b.len, &e, NULL), 0);
    size_t attest_off = (size_t)(e.attest - b.ev);
    b.ev[attest_off] ^= 0xff; /* magic */
    struct outcome o = run_with(b.ev, b.len, b.pol, BINDER, COLL);
    expect_fail(&o, "evidence.format", "evidence_malformed");
    b.ev[attest_off] ^= 0xff;
    uint8_t *longer = malloc(b.len + 1);
    memcpy(longer, b.ev, b.len);
    longer[b.len] = 0;
    o = run_with(longer, b.len + 1, b.pol, BINDER, COLL);
    expect_fail(&o, "evidence.format", "evidence_malformed");
    free(longer);
    e.signature_len = 255;
    size_t l2 = 0;
    uint8_t *ev2 = encode(&e, &l2);
    o = run_with(ev2, l2, b.pol, BINDER, COLL);
    expect_fail(&o, "evidence.format", "evidence_malformed");
    free(ev2);
    built_free(&b);
}

static void every_truncation_is_refused(void **state)
{
    (void)state;
    struct azspec s = default_azspec();
    struct built b = built_new(&s);
    struct outcome o = run_with(b.ev, b.len, b.pol, BINDER, COLL);
    expect_pass(&o);
    expect_prefixes_refused(b.ev, b.len, b.pol, COLL, 1);
    /* And the HCL report itself, cut anywhere before the end of its claims. */
    struct azure_vtpm_evidence e;
    assert_int_equal(azure_vtpm_evidence_parse(b.ev, b.len, &e, NULL), 0);
    struct azure_hcl h;
    assert_int_equal(azure_hcl_parse(e.hcl, e.hcl_len, &h, NULL), 0);
    size_t end = AZURE_HCL_CLAIMS_OFF + h.claims_len;
    assert_int_equal(h.padding, e.hcl_len - end);
    for (size_t n = 0; n < end; n++)
        assert_int_equal(azure_hcl_parse(e.hcl, n, &h, NULL), -1);
    assert_int_equal(azure_hcl_parse(e.hcl, end, &h, NULL), 0);
    built_free(&b);
}

/* HCLAkPub from the claims JSON text: 0 with the key (*k, caller frees), or -1 with a reason
 * and no key. */
static int ak_from(const char *json, EVP_PKEY **k)
{
    json_t *j = azure_hcl_claims_parse((const uint8_t *)json, strlen(json), NULL);
    assert_non_null(j);
    const char *why = NULL;
    int rc = azure_hcl_ak(j, k, &why);
    if (rc != 0) {
        assert_null(*k);
        assert_non_null(why);
    }
    json_decref(j);
    return rc;
}

/* The HCLAkPub rules, directly. */
static void ak_jwk_rules(void **state)
{
    (void)state;
    char *n, *e;
    rsa_jwk_parts(AK, &n, &e);
    char *n3, *e3;
    rsa_jwk_parts(AK3072, &n3, &e3);
    struct {
        const char *fmt;
        int ok;
    } cases[] = {
        {"{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2\"}]}", 1},
        {"{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2\","
         "\"key_ops\":[\"sign\"]}]}", 1},
        {"{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2\","
         "\"key_ops\":[\"encrypt\"]}]}", 0},
        {"{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"EC\",\"n\":\"@1\",\"e\":\"@2\"}]}", 0},
        {"{\"keys\":[{\"kid\":\"HCLEkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2\"}]}", 0},
        {"{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2\"},"
         "{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2\"}]}", 0},
        {"{\"keys\":{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2\"}}", 0},
        {"{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1=\",\"e\":\"@2\"}]}", 0},
        {"{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"AA@1\",\"e\":\"@2\"}]}", 0},
        {"{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2A\"}]}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[4096];
        subst(buf, sizeof buf, cases[i].fmt, n, e);
        EVP_PKEY *k = NULL;
        int rc = ak_from(buf, &k);
        if ((rc == 0) != (cases[i].ok == 1))
            fail_msg("case %zu: rc %d", i, rc);
        if (rc == 0)
            assert_int_equal(EVP_PKEY_eq(k, AK), 1);
        EVP_PKEY_free(k);
    }
    /* Not 2048 bits; a leading zero octet; e not odd, below 3 or longer than 4 octets; a
     * character outside base64url; non-zero unused bits. */
    uint8_t zn[257];
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(AK, OSSL_PKEY_PARAM_RSA_N, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, zn, 257), 257);
    BN_free(bn);
    char *n0 = b64url(zn, sizeof zn);
    const struct {
        const char *n, *e;
    } bad[] = {{n3, e3},     {n0, e},          {n, "AQAA"}, {n, "Ag"}, {n, "AQ"},
               {n, "AAEAAQ"}, {n, "AQABAQAB"}, {n, "AQ+B"}, {n, "AQH"}, {"", e},
               {n, "AQAB="}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[4096];
        subst(buf, sizeof buf,
              "{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"@1\",\"e\":\"@2\"}]}",
              bad[i].n, bad[i].e);
        EVP_PKEY *k = NULL;
        if (ak_from(buf, &k) == 0)
            fail_msg("bad case %zu accepted", i);
    }
    free(n0);
    free(n);
    free(e);
    free(n3);
    free(e3);
}

static void container_round_trip(void **state)
{
    (void)state;
    struct azspec s = default_azspec();
    pcr_fill(&s.banks[1], TPM_ALG_SHA384, 0x3, 0x30);
    s.n_banks = 2;
    size_t len = 0;
    uint8_t *ev = build_evidence(&s, &len);
    struct azure_vtpm_evidence e;
    assert_int_equal(azure_vtpm_evidence_parse(ev, len, &e, NULL), 0);
    assert_int_equal(e.n_banks, 2);
    assert_int_equal(e.banks[1].hash_alg, TPM_ALG_SHA384);
    assert_int_equal(e.signature_len, 256);
    expect_reencodes(&e, ev, len);
    /* Framing rules. */
    const char *why = NULL;
    ev[4] = 0;
    ev[5] = 2; /* version */
    assert_int_equal(azure_vtpm_evidence_parse(ev, len, &e, &why), -1);
    ev[5] = 1;
    ev[7] = 1; /* flags */
    assert_int_equal(azure_vtpm_evidence_parse(ev, len, &e, &why), -1);
    ev[7] = 0;
    assert_int_equal(azure_vtpm_evidence_parse(ev, len, &e, &why), 0);
    free(ev);
    /* Refused by the encoder as by the parser: a bank twice, PCR 24, an empty field. */
    struct azure_vtpm_evidence bad = e;
    bad.banks[1].hash_alg = TPM_ALG_SHA256;
    expect_encode_refused(&bad);
    bad = e;
    bad.banks[0].present |= 1u << 24;
    expect_encode_refused(&bad);
    bad = e;
    bad.hcl_len = 0;
    expect_encode_refused(&bad);
}

static void policy_parse_is_strict(void **state)
{
    (void)state;
    char *m = hexs(SNP_FX_MEAS, 48);
    char pcr0[128];
    snprintf(pcr0, sizeof pcr0, "{\"sha256\":{\"0\":\"%064d\"}}", 0);
    struct {
        const char *snp, *tpm, *extra;
        const char *want; /* in the message */
    } cases[] = {
        {NULL, "{\"pcrs\":@2}", NULL, "both required"},
        {"{\"measurements\":[\"@1\"]}", NULL, NULL, "both required"},
        {"{}", "{\"pcrs\":@2}", NULL, "accept.azure-vtpm.snp: \"measurements\" is required"},
        {"{\"measurements\":[\"@1\"],\"typo\":1}", "{\"pcrs\":@2}", NULL,
         "accept.azure-vtpm.snp: unknown key \"typo\""},
        {"{\"measurements\":[\"@1\"],\"vmpl\":4}", "{\"pcrs\":@2}", NULL,
         "accept.azure-vtpm.snp.vmpl"},
        {"{\"measurements\":[\"@1\"]}", "{}", NULL, "\"pcrs\" is required"},
        {"{\"measurements\":[\"@1\"]}", "{\"pcrs\":@2,\"ak_keys\":[\"00\"]}", NULL,
         "no \"ak_keys\" or \"trust_anchors\""},
        {"{\"measurements\":[\"@1\"]}", "{\"pcrs\":@2,\"trust_anchors\":[\"x\"]}", NULL,
         "no \"ak_keys\" or \"trust_anchors\""},
        {"{\"measurements\":[\"@1\"]}", "{\"pcrs\":@2,\"other\":1}", NULL,
         "accept.azure-vtpm.tpm: unknown key"},
        {"{\"measurements\":[\"@1\"]}", "{\"pcrs\":{\"sha256\":{\"24\":\"00\"}}}", NULL,
         "accept.azure-vtpm.tpm.pcrs.sha256"},
        {"{\"measurements\":[\"@1\"]}", "{\"pcrs\":{}}", NULL, "accept.azure-vtpm.tpm.pcrs"},
        {"{\"measurements\":[\"@1\"]}", "{\"pcrs\":@2}", ",\"x\":1", "unknown key \"x\""},
        {"[]", "{\"pcrs\":@2}", NULL, "accept.azure-vtpm.snp: must be an object"},
        {"{\"measurements\":[\"@1\"]}", "7", NULL, "accept.azure-vtpm.tpm: must be an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[1024] = "", tmp[512];
        const char *parts[2] = {cases[i].snp, cases[i].tpm};
        const char *names[2] = {"snp", "tpm"};
        for (int k = 0; k < 2; k++) {
            if (!parts[k])
                continue;
            subst(tmp, sizeof tmp, parts[k], m, pcr0); /* @1: the measurement, @2: PCR 0 */
            size_t u = strlen(body);
            snprintf(body + u, sizeof body - u, "%s\"%s\":%s", u ? "," : "", names[k], tmp);
        }
        char json[1400];
        snprintf(json, sizeof json, "{\"tether_policy\":1,\"accept\":{\"azure-vtpm\":{%s%s}}}",
                 body, cases[i].extra ? cases[i].extra : "");
        expect_policy_refused(i, json, cases[i].want);
    }
    free(m);
}

/* ---- the TDX form ---- */

static void tdx_full_chain_passes(void **state)
{
    (void)state;
    struct azspec s = tdx_azspec();
    struct built b = built_new(&s); /* collateral from the policy */
    const struct evidence_backend *be = evidence_backend_recognise(b.ev, b.len);
    assert_non_null(be);
    assert_string_equal(be->name, "azure-vtpm");
    struct tdx_fx_td td;
    tdx_fx_default_td(&td);
    uint8_t piid[16];
    for (int i = 0; i < 16; i++)
        piid[i] = (uint8_t)(0xc0 + i); /* the test PCK's platform instance ID */
    const char *must[] = {"\"tee\":\"azure-vtpm\"", "\"vm_id\":\"" VM_ID "\"",
                          "\"report_type\":\"tdx\"", "\"platform\":\"tdx\"",
                          "\"name\":\"evidence.chain\"", "\"name\":\"evidence.signature\"",
                          "\"name\":\"evidence.revocation\"", "\"name\":\"evidence.tcb_status\"",
                          "\"name\":\"evidence.hcl_binding\"", "\"name\":\"evidence.ak\"",
                          "\"name\":\"evidence.tpm_signature\"", "\"name\":\"evidence.pcrs\"",
                          "\"name\":\"policy.azure.tee\"", "\"name\":\"policy.tcb_status\"",
                          "\"name\":\"policy.collateral_fresh\"",
                          "\"name\":\"policy.tdx.rtmr0\"",
                          "\"name\":\"policy.tpm.pcr.sha256.7\"", "\"status\":\"UpToDate\""};
    /* The platform identity (and platform_ids allowlist) is the PCK's platform instance. */
    expect_full_chain(b.ev, b.len, b.pol, NULL, must, sizeof must / sizeof must[0], td.mrtd,
                      piid, 16);
    /* Collateral given with the verification instead (--collateral). */
    char *pol_nc = tdx_policy_json(NULL, false, NULL);
    struct outcome o = run_with(b.ev, b.len, pol_nc, BINDER, (const char *const[]){TDX_COLL, NULL});
    expect_pass(&o);
    /* Neither: the tdx backend's own failure. */
    o = run_with(b.ev, b.len, pol_nc, BINDER, NULL);
    expect_fail(&o, "evidence.collateral", "dcap_collateral_missing");
    /* Without the test root as a policy anchor: Intel's root does not vouch for it. */
    char *at = strstr(b.pol, "\"trust_anchors\"");
    assert_non_null(at);
    char *pol3 = strdup(b.pol);
    char *at3 = pol3 + (at - b.pol);
    char *end = strchr(at3, ']');
    memmove(at3, end + 2, strlen(end + 2) + 1); /* drop the member and its comma */
    o = run_with(b.ev, b.len, pol3, BINDER, NULL);
    expect_fail(&o, "evidence.chain", NULL);
    free(pol3);
    free(pol_nc);
    built_free(&b);
}

static void tdx_altered_claims_fail_hcl_binding(void **state)
{
    (void)state;
    hcl_binding_fails(tdx_azspec); /* the TD quote commits to the original JSON */
    /* A TD quote for another TDREPORT than the HCL report's (consistency, not authentication). */
    EXPECT(tdx_azspec(), s.tdreport_rd_flip = true, "evidence.hcl_binding",
           "azure_tdreport_mismatch");
}

static void tdx_tampered_quote_fails_signature(void **state)
{
    (void)state;
    EXPECT(tdx_azspec(), s.td_quote_tamper = true, "evidence.signature",
           "evidence_signature_invalid");
    vtpm_links_fail(tdx_azspec); /* as for SNP */
}

static void tdx_binder_mismatch_fails_at_binding(void **state)
{
    (void)state;
    struct azspec s = tdx_azspec();
    struct built b = built_new(&s);
    expect_binder_mismatch(&s, &b, 63, 0x01);
    /* The TD quote's REPORTDATA is the HCL binding, never the connection's. */
    uint8_t rd[64];
    size_t dummy = 0;
    uint8_t *hcl = build_hcl(&s, &dummy, rd);
    free(hcl);
    struct outcome o = run_with(b.ev, b.len, b.pol, rd, NULL);
    expect_fail(&o, "binding.report_data", "binder_mismatch");
    built_free(&b);
}

static void tdx_policy_applies(void **state)
{
    (void)state;
    struct azspec s = tdx_azspec();
    /* Another MRTD; the TD's own MRTD, when the evidence comes from that TD, passes. */
    struct tdx_fx_td td;
    tdx_fx_default_td(&td);
    td.mrtd[0] ^= 0xff;
    char *mh = hexs(td.mrtd, 48);
    expect_spec("another MRTD", &s, tdx_policy_json(NULL, true, mh), "policy.measurement",
                "measurement_not_allowed");
    s.td = &td;
    expect_spec("that TD", &s, tdx_policy_json(NULL, true, mh), NULL, NULL);
    free(mh);
    /* The accept.tdx registers and statuses. */
    s = tdx_azspec();
    char rt[160], *zero = hexs((const uint8_t[48]){0}, 48);
    snprintf(rt, sizeof rt, "\"rtmr0\":[\"%s\"]", zero);
    free(zero);
    expect_spec("rtmr0", &s, tdx_policy_json(rt, true, NULL), "policy.tdx.rtmr0",
                "tdx_rtmr0_not_allowed");
    expect_spec("tcb_statuses", &s, tdx_policy_json("\"tcb_statuses\":[\"OutOfDate\"]", true, NULL),
                "policy.tcb_status", "dcap_tcb_status_not_allowed");
    /* A debuggable TD. */
    tdx_fx_default_td(&td);
    td.td_attributes = 1;
    s.td = &td;
    expect_spec("debug TD", &s, NULL, "policy.debug", "debug_not_allowed");
}

/* The policy's hardware is the evidence's: an SNP-form container under a TDX-only entry (and
 * the other way round) fails policy.azure.tee, even when the entry's anchors would verify the
 * other hardware and its measurement list happens to hold the other hardware's measurement. */
static void hardware_must_match_the_policy(void **state)
{
    (void)state;
    char *smeas = hexs(SNP_FX_MEAS, 48);
    char *pol = tdx_policy_json(NULL, true, smeas);
    char *pol2 = with_anchor(pol, TDX_ROOT, snp_fx.ark_path); /* both roots as anchors */
    struct azspec s = default_azspec();
    size_t len = 0;
    uint8_t *ev = build_evidence(&s, &len);
    struct outcome o = run_with(ev, len, pol2, BINDER, COLL);
    expect_fail(&o, "policy.azure.tee", "azure_tee_mismatch");
    /* With only the Intel test root, the SNP report does not even verify. */
    o = run_with(ev, len, pol, BINDER, COLL);
    expect_fail(&o, "evidence.chain", NULL);
    free(ev);
    free(pol);
    free(pol2);
    free(smeas);
    /* A TDX-form container under an SNP-only entry: snp {trust_anchors [ARK], measurements
     * [MEAS]} with the Intel root added and MEAS replaced by the MRTD. */
    struct tdx_fx_td td;
    tdx_fx_default_td(&td);
    char *mrtd = hexs(td.mrtd, 48);
    pol = policy_json(NULL, NULL);
    pol2 = with_anchor(pol, snp_fx.ark_path, TDX_ROOT);
    char *m = hexs(SNP_FX_MEAS, 48);
    char *mp = strstr(pol2, m);
    assert_non_null(mp);
    memcpy(mp, mrtd, 96);
    s = tdx_azspec();
    ev = build_evidence(&s, &len);
    o = run_with(ev, len, pol2, BINDER, (const char *const[]){TDX_COLL, NULL});
    expect_fail(&o, "policy.azure.tee", "azure_tee_mismatch");
    free(ev);
    free(m);
    free(mrtd);
    free(pol);
    free(pol2);
}

static void tdx_form_format_rules(void **state)
{
    (void)state;
    /* The container's form and the HCL report's type agree: a TDX HCL report in an
     * SEV-SNP-form container; a TDX-form container with an "SNP" HCL report; a REPORTTYPE.TYPE
     * that is not 0x81 (not a TDREPORT). */
    EXPECT(tdx_azspec(), s.container_snp = true, "evidence.format", "evidence_malformed");
    EXPECT(tdx_azspec(), s.report_type = AZURE_HCL_REPORT_TYPE_SNP, "evidence.format",
           "evidence_malformed");
    EXPECT(tdx_azspec(), s.tdreport_type = 0x7f, "evidence.format", "evidence_malformed");
    /* Round trip, and every truncation refused. */
    struct azspec s = tdx_azspec();
    struct built b = built_new(&s);
    struct azure_vtpm_evidence e;
    assert_int_equal(azure_vtpm_evidence_parse(b.ev, b.len, &e, NULL), 0);
    assert_true(e.tdx);
    assert_true(e.td_quote_len > DCAP_HEADER_LEN + DCAP_TD10_BODY_LEN);
    assert_int_equal(b.ev[6], 0);
    assert_int_equal(b.ev[7], 1);
    struct azure_hcl h;
    assert_int_equal(azure_hcl_parse(e.hcl, e.hcl_len, &h, NULL), 0);
    assert_true(h.tdx);
    expect_reencodes(&e, b.ev, b.len);
    struct azure_vtpm_evidence bad = e;
    bad.td_quote_len = 0;
    expect_encode_refused(&bad);
    expect_prefixes_refused(b.ev, b.len, b.pol, NULL, 97);
    /* Flags other than 0x0001 are refused. */
    b.ev[7] = 3;
    assert_int_equal(azure_vtpm_evidence_parse(b.ev, b.len, &e, NULL), -1);
    b.ev[7] = 1;
    b.ev[6] = 0x80;
    assert_int_equal(azure_vtpm_evidence_parse(b.ev, b.len, &e, NULL), -1);
    built_free(&b);
}

static void tdx_policy_parse_is_strict(void **state)
{
    (void)state;
    struct tdx_fx_td td;
    tdx_fx_default_td(&td);
    char *m = hexs(td.mrtd, 48);
    char tpm[128];
    snprintf(tpm, sizeof tpm, "{\"pcrs\":{\"sha256\":{\"0\":\"%064d\"}}}", 0);
    struct {
        const char *body; /* @1: the MRTD (48 bytes: also a valid SNP measurement), @2: tpm */
        const char *want;
    } cases[] = {
        {"\"snp\":{\"measurements\":[\"@1\"]},\"tdx\":{\"mrtd\":[\"@1\"]},\"tpm\":@2",
         "\"snp\" and \"tdx\" together"},
        {"\"tpm\":@2", "both required"},
        {"\"tdx\":{\"mrtd\":[\"@1\"]}", "both required"},
        {"\"tdx\":{},\"tpm\":@2", "accept.azure-vtpm.tdx: \"mrtd\" is required"},
        {"\"tdx\":{\"mrtd\":[\"@1\"],\"typo\":1},\"tpm\":@2",
         "accept.azure-vtpm.tdx: unknown key \"typo\""},
        {"\"tdx\":{\"mrtd\":[\"@1\"],\"measurements\":[\"@1\"]},\"tpm\":@2",
         "accept.azure-vtpm.tdx: unknown key \"measurements\""},
        {"\"tdx\":{\"mrtd\":[\"00\"]},\"tpm\":@2", "accept.azure-vtpm.tdx.mrtd"},
        {"\"tdx\":{\"mrtd\":[\"@1\"],\"tcb_statuses\":[\"Sometimes\"]},\"tpm\":@2",
         "accept.azure-vtpm.tdx.tcb_statuses"},
        {"\"tdx\":{\"mrtd\":[\"@1\"],\"collateral\":[\"/nonexistent/tether\"]},\"tpm\":@2",
         "accept.azure-vtpm.tdx.collateral"},
        {"\"tdx\":[],\"tpm\":@2", "accept.azure-vtpm.tdx: must be an object"},
        {"\"tdx\":{\"mrtd\":[\"@1\"]},\"tpm\":{\"pcrs\":{},\"ak_keys\":[\"00\"]}",
         "no \"ak_keys\" or \"trust_anchors\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[1024], json[1400];
        subst(body, sizeof body, cases[i].body, m, tpm);
        snprintf(json, sizeof json, "{\"tether_policy\":1,\"accept\":{\"azure-vtpm\":{%s}}}",
                 body);
        expect_policy_refused(i, json, cases[i].want);
    }
    /* The well-formed entry is accepted. */
    char *ok = tdx_policy_json("\"tcb_statuses\":[\"UpToDate\",\"OutOfDate\"]", true, NULL);
    struct tether_config *cfg = config_with(ok);
    tether_config_free(cfg);
    free(ok);
    free(m);
}

static void write_fuzz_seeds_when_asked(void **state)
{
    (void)state;
    const char *dir = getenv("TETHER_AZURE_SEED_DIR");
    if (!dir)
        return;
    struct azspec s = default_azspec();
    struct {
        const char *name;
        struct azspec spec;
    } seeds[4];
    seeds[0].name = "valid_sha256.bin";
    seeds[0].spec = s;
    seeds[1].name = "valid_two_banks_v1.bin";
    seeds[1].spec = s;
    pcr_fill(&seeds[1].spec.banks[1], TPM_ALG_SHA1, 0x80001, 0x20);
    seeds[1].spec.n_banks = 2;
    seeds[1].spec.version = 1;
    seeds[2].name = "exact_length_no_padding.bin";
    seeds[2].spec = s;
    seeds[2].spec.hcl_len = 1; /* replaced below */
    seeds[3].name = "valid_tdx.bin"; /* the TDX form: TDREPORT, TD quote by the test PCK */
    seeds[3].spec = tdx_azspec();
    for (size_t i = 0; i < 4; i++) {
        if (i == 2) {
            char *j = claims_json(AK);
            seeds[2].spec.hcl_len = AZURE_HCL_CLAIMS_OFF + strlen(j);
            free(j);
        }
        size_t len = 0;
        uint8_t *ev = build_evidence(&seeds[i].spec, &len);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, seeds[i].name);
        assert_int_equal(file_write(path, ev, len, 0644), 0);
        free(ev);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_chain_passes),
        cmocka_unit_test(binder_mismatch_fails_at_binding),
        cmocka_unit_test(altered_runtime_claims_fail_hcl_binding),
        cmocka_unit_test(swapped_ak_fails_tpm_signature),
        cmocka_unit_test(pcr_mismatch_fails),
        cmocka_unit_test(tampered_snp_report_fails_snp_checks),
        cmocka_unit_test(snp_policy_applies),
        cmocka_unit_test(malformed_hcl_fails_format),
        cmocka_unit_test(every_truncation_is_refused),
        cmocka_unit_test(ak_jwk_rules),
        cmocka_unit_test(container_round_trip),
        cmocka_unit_test(policy_parse_is_strict),
        cmocka_unit_test(tdx_full_chain_passes),
        cmocka_unit_test(tdx_altered_claims_fail_hcl_binding),
        cmocka_unit_test(tdx_tampered_quote_fails_signature),
        cmocka_unit_test(tdx_binder_mismatch_fails_at_binding),
        cmocka_unit_test(tdx_policy_applies),
        cmocka_unit_test(hardware_must_match_the_policy),
        cmocka_unit_test(tdx_form_format_rules),
        cmocka_unit_test(tdx_policy_parse_is_strict),
        cmocka_unit_test(write_fuzz_seeds_when_asked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
