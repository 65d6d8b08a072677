/*
 * test_snp_report.c - the SEV-SNP ATTESTATION_REPORT parser and signature check
 * (src/evidence/snp/snp_report.c), the certificate table and the "TSNP" container.
 *
 * Real reports from $TETHER_VECTORS/snp (../shared/vectors/snp by default; MANIFEST.md and
 * research evidence.md B1 give the facts asserted here) are parsed and their signatures
 * checked with the VCEK/VLEK beside them; the cases are skipped with a note when the vectors
 * are absent. Synthetic v3/v5 reports (Genoa, Turin) are built and signed with a fresh P-384
 * key. Must never depend on the network or write files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "evidence/snp/snp_certtable.h"
#include "evidence/snp/snp_evidence.h"
#include "evidence/snp/snp_report.h"
#include "util/bytes.h"
#include "util/util.h"

#include "lib/snp_fixture.h"

/* ---- helpers ---- */

static const char *snp_vectors(void)
{
    static char dir[1024];
    const char *v = getenv("TETHER_VECTORS");
    snprintf(dir, sizeof dir, "%s/snp", v ? v : "../shared/vectors");
    return dir;
}

/* Read a vector file; NULL (and the caller skips) when absent. */
static uint8_t *vector(const char *rel, size_t *len)
{
    char path[1200];
    uint8_t *data = NULL;
    snprintf(path, sizeof path, "%s/%s", snp_vectors(), rel);
    if (file_read(path, 1u << 20, &data, len) != 0) {
        fprintf(stderr, "# skip: SNP vector %s not found (set TETHER_VECTORS)\n", path);
        return NULL;
    }
    return data;
}

static EVP_PKEY *cert_key(const char *rel)
{
    size_t len = 0;
    uint8_t *der = vector(rel, &len);
    if (!der)
        return NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    free(der);
    assert_non_null(x);
    EVP_PKEY *k = X509_get_pubkey(x);
    X509_free(x);
    assert_non_null(k);
    return k;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static EVP_PKEY *p384_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-384");
    assert_non_null(k);
    return k;
}

/* A synthetic, well-formed report of a version with CPUID family/model. */
static void build_report(uint8_t rep[SNP_REPORT_LEN], uint32_t version, uint8_t fam,
                         uint8_t mod)
{
    memset(rep, 0, SNP_REPORT_LEN);
    put_le(rep + 0x000, version, 4);
    put_le(rep + 0x008, 0x30000, 8); /* SMT allowed, bit 17 */
    put_le(rep + 0x034, SNP_SIG_ALGO_ECDSA_P384_SHA384, 4);
    put_le(rep + 0x040, 0x25, 8);
    memset(rep + 0x050, 0xAB, 64);     /* report_data */
    memset(rep + 0x090, 0x5A, 48);     /* measurement */
    if (version >= 3) {
        rep[0x188] = fam;
        rep[0x189] = mod;
        rep[0x18A] = 1;
    }
    memset(rep + 0x1A0, 0xC1, 64);     /* chip id */
    rep[0x1E8] = 29;                   /* fw 1.55.29 */
    rep[0x1E9] = 55;
    rep[0x1EA] = 1;
    rep[0x1EC] = 29;
    rep[0x1ED] = 55;
    rep[0x1EE] = 1;
}

static int parse(const uint8_t *rep, size_t len, struct snp_report *r)
{
    const char *why = NULL;
    int rc = snp_report_parse(rep, len, r, &why);
    if (rc == 0)
        assert_null(why);
    else
        assert_non_null(why);
    return rc;
}

/* ---- real reports ---- */

static void test_go_sev_guest_milan_v2_debug_report(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *rep = vector("go-sev-guest/milan_v2_report.bin", &len);
    if (!rep)
        skip();
    struct snp_report r;
    assert_int_equal(parse(rep, len, &r), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.policy, 0xB0000);
    assert_true(r.policy & (1u << 19)); /* DEBUG allowed */
    assert_int_equal(r.vmpl, 0);
    assert_int_equal(r.signature_algo, 1);
    assert_int_equal(snp_report_signing_key(&r), SNP_KEY_VCEK);
    static const uint8_t prefix[] = {1, 2, 3, 4, 5};
    assert_memory_equal(r.report_data, prefix, sizeof prefix);
    assert_true(ct_is_zero(r.report_data + 5, 59));
    assert_false(r.has_cpuid);
    assert_false(r.has_mit_vectors);
    assert_int_equal(snp_report_generation(&r), SNP_GEN_UNKNOWN);
    assert_string_equal(snp_generation_name(snp_report_generation(&r)), "unknown");
    struct snp_tcb t = snp_tcb_decode(r.reported_tcb_raw, SNP_GEN_MILAN);
    assert_int_equal(t.bootloader, 2); /* TCB bl2/tee0/snp5/uc68 */
    assert_int_equal(t.tee, 0);
    assert_int_equal(t.snp, 5);
    assert_int_equal(t.microcode, 68);
    assert_int_equal(r.current_major, 1); /* fw 1.49.3 */
    assert_int_equal(r.current_minor, 49);
    assert_int_equal(r.current_build, 3);
    assert_false(ct_is_zero(r.chip_id, 64)); /* not masked */
    assert_ptr_equal(r.signed_region, rep);

    EVP_PKEY *k = cert_key("go-sev-guest/milan_vcek.der");
    assert_int_equal(snp_report_verify_signature(&r, k), 0);
    EVP_PKEY_free(k);
    free(rep);
}

static void test_virtee_milan_v2_report(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *rep = vector("virtee-sev/milan_v2_report.bin", &len);
    if (!rep)
        skip();
    struct snp_report r;
    assert_int_equal(parse(rep, len, &r), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.policy, 0x30000);
    assert_false(r.policy & (1u << 19));
    assert_int_equal(r.vmpl, 0);
    assert_int_equal(snp_report_signing_key(&r), SNP_KEY_VCEK);
    assert_int_equal(r.current_major, 1); /* fw 1.52.4 */
    assert_int_equal(r.current_minor, 52);
    assert_int_equal(r.current_build, 4);
    EVP_PKEY *k = cert_key("virtee-sev/milan_vcek.der");
    assert_int_equal(snp_report_verify_signature(&r, k), 0);
    EVP_PKEY_free(k);
    free(rep);
}

static void test_trustee_milan_v2_report_with_id_block(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *rep = vector("trustee/milan_v2_report.bin", &len);
    if (!rep)
        skip();
    struct snp_report r;
    assert_int_equal(parse(rep, len, &r), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.guest_svn, 4);
    assert_int_equal(r.vmpl, 0);
    assert_false(ct_is_zero(r.id_key_digest, 48)); /* ID block used */
    assert_int_equal(r.family_id[0], 1);
    assert_int_equal(r.image_id[0], 2);
    /* CURRENT ucode 206 != REPORTED 115 (research C1). */
    assert_int_equal(snp_tcb_decode(r.current_tcb_raw, SNP_GEN_MILAN).microcode, 206);
    assert_int_equal(snp_tcb_decode(r.reported_tcb_raw, SNP_GEN_MILAN).microcode, 115);
    EVP_PKEY *k = cert_key("trustee/milan_vcek.der");
    assert_int_equal(snp_report_verify_signature(&r, k), 0);
    EVP_PKEY_free(k);
    free(rep);
}

static void test_aws_milan_v3_vlek_report(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *rep = vector("trustee/aws_milan_v3_vlek_report.bin", &len);
    if (!rep)
        skip();
    struct snp_report r;
    assert_int_equal(parse(rep, len, &r), 0);
    assert_int_equal(r.version, 3);
    assert_int_equal(snp_report_signing_key(&r), SNP_KEY_VLEK);
    assert_int_equal(r.vmpl, 1);
    assert_true(ct_is_zero(r.chip_id, 64)); /* masked */
    assert_true(r.has_cpuid);
    assert_false(r.has_mit_vectors);
    assert_int_equal(r.cpuid_fam_id, 0x19);
    assert_int_equal(snp_report_generation(&r), SNP_GEN_MILAN);
    assert_string_equal(snp_generation_name(SNP_GEN_MILAN), "Milan");
    EVP_PKEY *k = cert_key("trustee/aws_vlek.der");
    assert_int_equal(snp_report_verify_signature(&r, k), 0);
    EVP_PKEY_free(k);
    free(rep);
}

static const char *const REPORTS[][2] = {
    {"go-sev-guest/milan_v2_report.bin", "go-sev-guest/milan_vcek.der"},
    {"virtee-sev/milan_v2_report.bin", "virtee-sev/milan_vcek.der"},
    {"trustee/milan_v2_report.bin", "trustee/milan_vcek.der"},
    {"trustee/aws_milan_v3_vlek_report.bin", "trustee/aws_vlek.der"},
};

static void test_real_reports_fail_when_any_byte_is_flipped_or_the_key_is_wrong(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof REPORTS / sizeof REPORTS[0]; i++) {
        size_t len = 0;
        uint8_t *rep = vector(REPORTS[i][0], &len);
        if (!rep)
            skip();
        EVP_PKEY *k = cert_key(REPORTS[i][1]);
        EVP_PKEY *other = cert_key(REPORTS[(i + 1) % 4][1]);
        struct snp_report r;
        /* Flip one byte in each signed field region (report_data, measurement, TCB, chip id)
         * and in R and S. */
        static const size_t offs[] = {0x008, 0x050, 0x090, 0x180, 0x1A0, 0x1F0, 0x2A0, 0x2E8};
        for (size_t j = 0; j < sizeof offs / sizeof offs[0]; j++) {
            rep[offs[j]] ^= 0x01;
            if (parse(rep, len, &r) == 0)
                assert_int_not_equal(snp_report_verify_signature(&r, k), 0);
            rep[offs[j]] ^= 0x01;
        }
        assert_int_equal(parse(rep, len, &r), 0);
        assert_int_equal(snp_report_verify_signature(&r, k), 0);
        assert_int_not_equal(snp_report_verify_signature(&r, other), 0);
        assert_int_not_equal(snp_report_verify_signature(&r, NULL), 0);
        EVP_PKEY_free(k);
        EVP_PKEY_free(other);
        free(rep);
    }
}

static void test_a_non_p384_key_is_refused(void **state)
{
    (void)state;
    uint8_t rep[SNP_REPORT_LEN];
    build_report(rep, 3, 0x19, 0x01);
    EVP_PKEY *k256 = EVP_EC_gen("P-256");
    struct snp_report r;
    assert_int_equal(parse(rep, sizeof rep, &r), 0);
    assert_int_not_equal(snp_report_verify_signature(&r, k256), 0);
    EVP_PKEY_free(k256);
}

/* ---- synthetic reports: generations and layouts ---- */

static void test_turin_v5_report_generation_tcb_and_mitigation_vectors(void **state)
{
    (void)state;
    uint8_t rep[SNP_REPORT_LEN];
    build_report(rep, 5, 0x1A, 0x02);
    memset(rep + 0x1A0, 0, 64);
    memset(rep + 0x1A0, 0xEE, 8); /* Turin: 8-byte chip id, 56 zero bytes */
    /* Turin TCB: fmc 1, bl 2, tee 3, snp 4, reserved 4-6, ucode 82. */
    uint64_t tcb = 1ull | 2ull << 8 | 3ull << 16 | 4ull << 24 | 82ull << 56;
    put_le(rep + 0x038, tcb, 8);
    put_le(rep + 0x180, tcb, 8);
    put_le(rep + 0x1F8, 11, 8); /* launch mit vector */
    put_le(rep + 0x200, 13, 8); /* current mit vector */
    EVP_PKEY *k = p384_key();
    snp_fx_sign_report(rep, k);
    struct snp_report r;
    assert_int_equal(parse(rep, sizeof rep, &r), 0);
    assert_int_equal(r.version, 5);
    assert_true(r.has_cpuid);
    assert_true(r.has_mit_vectors);
    assert_int_equal(r.launch_mit_vector, 11);
    assert_int_equal(r.current_mit_vector, 13);
    assert_int_equal(snp_report_generation(&r), SNP_GEN_TURIN);
    assert_string_equal(snp_generation_name(SNP_GEN_TURIN), "Turin");
    struct snp_tcb t = snp_tcb_decode(r.reported_tcb_raw, SNP_GEN_TURIN);
    assert_int_equal(t.raw, tcb);
    assert_int_equal(t.fmc, 1);
    assert_int_equal(t.bootloader, 2);
    assert_int_equal(t.tee, 3);
    assert_int_equal(t.snp, 4);
    assert_int_equal(t.microcode, 82);
    /* The same raw value read with the Milan/Genoa layout is different. */
    struct snp_tcb m = snp_tcb_decode(tcb, SNP_GEN_GENOA);
    assert_int_equal(m.fmc, 0);
    assert_int_equal(m.bootloader, 1);
    assert_int_equal(m.tee, 2);
    assert_int_equal(m.snp, 0);
    assert_int_equal(m.microcode, 82);
    assert_true(ct_is_zero(r.chip_id + 8, 56));
    assert_int_equal(snp_report_verify_signature(&r, k), 0);
    rep[0x1F8] ^= 1; /* mitigation vector is signed */
    assert_int_equal(parse(rep, sizeof rep, &r), 0);
    assert_int_not_equal(snp_report_verify_signature(&r, k), 0);
    EVP_PKEY_free(k);
}

static void test_generation_from_cpuid_family_and_model(void **state)
{
    (void)state;
    static const struct {
        uint32_t version;
        uint8_t fam, mod;
        enum snp_generation want;
    } cases[] = {
        {3, 0x19, 0x00, SNP_GEN_MILAN},  {3, 0x19, 0x01, SNP_GEN_MILAN},
        {3, 0x19, 0x0F, SNP_GEN_MILAN},  {3, 0x19, 0x10, SNP_GEN_GENOA},
        {3, 0x19, 0x11, SNP_GEN_GENOA},  {5, 0x19, 0x1F, SNP_GEN_GENOA},
        {3, 0x19, 0xA0, SNP_GEN_GENOA},  {5, 0x19, 0xAF, SNP_GEN_GENOA},
        {3, 0x19, 0x20, SNP_GEN_UNKNOWN}, {3, 0x19, 0xB0, SNP_GEN_UNKNOWN},
        {5, 0x1A, 0x00, SNP_GEN_TURIN},  {5, 0x1A, 0x11, SNP_GEN_TURIN},
        {5, 0x1A, 0x12, SNP_GEN_UNKNOWN}, {5, 0x17, 0x01, SNP_GEN_UNKNOWN},
        {4, 0x19, 0x11, SNP_GEN_GENOA},  {2, 0x19, 0x11, SNP_GEN_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t rep[SNP_REPORT_LEN];
        struct snp_report r;
        build_report(rep, cases[i].version, cases[i].fam, cases[i].mod);
        assert_int_equal(parse(rep, sizeof rep, &r), 0);
        assert_int_equal(snp_report_generation(&r), cases[i].want);
    }
    assert_string_equal(snp_generation_name(SNP_GEN_GENOA), "Genoa");
}

/* ---- malformed ---- */

static void test_every_truncation_and_a_trailing_byte_are_refused(void **state)
{
    (void)state;
    uint8_t rep[SNP_REPORT_LEN + 1];
    build_report(rep, 3, 0x19, 0x01);
    rep[SNP_REPORT_LEN] = 0;
    struct snp_report r;
    for (size_t n = 0; n < SNP_REPORT_LEN; n++)
        assert_int_equal(parse(rep, n, &r), -1);
    assert_int_equal(parse(rep, SNP_REPORT_LEN + 1, &r), -1);
    assert_int_equal(parse(NULL, SNP_REPORT_LEN, &r), -1);
    assert_int_equal(snp_report_parse(rep, SNP_REPORT_LEN, NULL, NULL), -1);
    assert_int_equal(parse(rep, SNP_REPORT_LEN, &r), 0);
}

/* Each enforced must-be-zero field (snp_report.c header comment), per version. */
static void test_nonzero_reserved_fields_are_refused(void **state)
{
    (void)state;
    static const struct {
        uint32_t version;
        size_t off;
        uint8_t val;
    } bad[] = {
        {3, 0x04C, 1},  {3, 0x04F, 0x80}, /* reserved after KEY_INFO */
        {3, 0x048, 0x20},                 /* KEY_INFO bit 5 */
        {3, 0x04B, 0x80},                 /* KEY_INFO bit 31 */
        {3, 0x048, 2 << 2},               /* SIGNING_KEY 2 (reserved) */
        {3, 0x048, 6 << 2},               /* SIGNING_KEY 6 (reserved) */
        {2, 0x188, 1},  {2, 0x18A, 1},    /* v2: CPUID bytes are reserved */
        {2, 0x19F, 1},  {3, 0x18B, 1},  {3, 0x19F, 1},
        {3, 0x1EB, 1},  {3, 0x1EF, 1},
        {3, 0x1F8, 1},  {4, 0x200, 1},    /* v2..v4: mitigation vectors are reserved */
        {2, 0x29F, 1},  {5, 0x208, 1},  {5, 0x29F, 1},
        {3, 0x2A0 + 48, 1}, {3, 0x2A0 + 71, 1}, /* R beyond 384 bits */
        {3, 0x2E8 + 48, 1}, {5, 0x2E8 + 71, 1}, /* S beyond 384 bits */
        {3, 0x330, 1},  {6, 0x49F, 1},    /* reserved tail of the signature */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t rep[SNP_REPORT_LEN];
        struct snp_report r;
        build_report(rep, bad[i].version, 0x19, 0x01);
        assert_int_equal(parse(rep, sizeof rep, &r), 0);
        rep[bad[i].off] |= bad[i].val;
        if (parse(rep, sizeof rep, &r) != -1)
            fail_msg("v%u: byte 0x%zx = 0x%02x was accepted", bad[i].version, bad[i].off,
                     bad[i].val);
    }
}

/* Fields deliberately not enforced (documented in snp_report.c). */
static void test_fields_left_to_the_policy_are_accepted(void **state)
{
    (void)state;
    static const struct {
        uint32_t version;
        size_t off;
        uint8_t val;
    } ok[] = {
        {3, 0x00F, 0x80}, /* POLICY bit 63 */
        {3, 0x00A, 0x00}, /* POLICY bit 17 clear */
        {5, 0x040, 0x40}, /* PLATFORM_INFO bit 6 (set on the real Turin report) */
        {3, 0x03C, 0xFF}, /* CURRENT_TCB reserved bytes (generation-dependent) */
        {3, 0x030, 0xFF}, /* VMPL out of 0..3 (host-requested reports) */
        {5, 0x1F8, 0xFF}, /* v5: LAUNCH_MIT_VECTOR */
        {6, 0x208, 0xFF}, /* v6: region a later ABI may define */
        {6, 0x29F, 0xFF},
        {3, 0x048, 7 << 2}, /* SIGNING_KEY none: parses, never verifies */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t rep[SNP_REPORT_LEN];
        struct snp_report r;
        build_report(rep, ok[i].version, 0x19, 0x01);
        if (ok[i].val)
            rep[ok[i].off] |= ok[i].val;
        else
            rep[ok[i].off] = 0;
        assert_int_equal(parse(rep, sizeof rep, &r), 0);
    }
    uint8_t rep[SNP_REPORT_LEN];
    struct snp_report r;
    build_report(rep, 3, 0x19, 0x01);
    rep[0x048] = 7 << 2;
    EVP_PKEY *k = p384_key();
    snp_fx_sign_report(rep, k);
    assert_int_equal(parse(rep, sizeof rep, &r), 0);
    assert_int_equal(snp_report_signing_key(&r), SNP_KEY_NONE);
    assert_int_not_equal(snp_report_verify_signature(&r, k), 0);
    EVP_PKEY_free(k);
}

static void test_unknown_versions_and_signature_algorithms_are_refused(void **state)
{
    (void)state;
    uint8_t rep[SNP_REPORT_LEN];
    struct snp_report r;
    static const uint32_t algos[] = {0, 2, 3, 0x101, 0xFFFFFFFF};
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++) {
        build_report(rep, 3, 0x19, 0x01);
        put_le(rep + 0x034, algos[i], 4);
        assert_int_equal(parse(rep, sizeof rep, &r), -1);
    }
    static const uint32_t versions[] = {0, 1};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        build_report(rep, versions[i], 0x19, 0x01);
        assert_int_equal(parse(rep, sizeof rep, &r), -1);
    }
    build_report(rep, 7, 0x19, 0x01); /* a later version parses with the v5 layout */
    assert_int_equal(parse(rep, sizeof rep, &r), 0);
    assert_true(r.has_mit_vectors);
}

/* ---- certificate table ---- */

static void test_certtable_round_trip_and_lookup(void **state)
{
    (void)state;
    uint8_t vcek[100], ask[50], ark[70];
    memset(vcek, 0x11, sizeof vcek);
    memset(ask, 0x22, sizeof ask);
    memset(ark, 0x33, sizeof ark);
    struct snp_cert_blob certs[] = {{SNP_CERT_VCEK, vcek, sizeof vcek},
                                    {SNP_CERT_ASK, ask, sizeof ask},
                                    {SNP_CERT_ARK, ark, sizeof ark}};
    struct bytes_writer w;
    writer_init(&w, 1 << 16);
    assert_int_equal(snp_certtable_encode(certs, 3, &w), 0);
    size_t len = 0;
    uint8_t *t = writer_take(&w, &len);
    assert_int_equal(len, 4 * 24 + 220);
    /* GUID in RFC 4122 order, offset/length little-endian. */
    static const uint8_t vcek_guid[] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                        0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    assert_memory_equal(t, vcek_guid, 16);
    assert_int_equal(t[16], 96);
    assert_int_equal(t[20], 100);
    struct snp_certtable ct;
    const char *why = NULL;
    assert_int_equal(snp_certtable_parse(t, len, &ct, &why), 0);
    assert_int_equal(ct.count, 3);
    assert_int_equal(ct.used_len, len);
    const struct snp_cert_entry *e = snp_certtable_find(&ct, SNP_CERT_ASK);
    assert_non_null(e);
    assert_int_equal(e->len, sizeof ask);
    assert_memory_equal(e->der, ask, sizeof ask);
    assert_null(snp_certtable_find(&ct, SNP_CERT_VLEK));
    assert_string_equal(snp_cert_kind_name(SNP_CERT_ARK), "ARK");

    /* Padding after the certificates (whole pages from the kernel) is fine. */
    uint8_t *padded = calloc(1, 4096);
    memcpy(padded, t, len);
    assert_int_equal(snp_certtable_parse(padded, 4096, &ct, &why), 0);
    assert_int_equal(ct.used_len, len);
    /* Every truncation that cuts a certificate or the array fails. */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(snp_certtable_parse(t, n, &ct, &why), -1);
    free(padded);

    /* Duplicate kinds and OTHER cannot be encoded. */
    struct snp_cert_blob dup[] = {{SNP_CERT_VCEK, vcek, 1}, {SNP_CERT_VCEK, vcek, 1}};
    writer_init(&w, 1 << 16);
    assert_int_equal(snp_certtable_encode(dup, 2, &w), -1);
    writer_free(&w);
    free(t);
}

static void put_entry(uint8_t *p, const uint8_t *guid, uint32_t off, uint32_t len)
{
    memcpy(p, guid, 16);
    put_le(p + 16, off, 4);
    put_le(p + 20, len, 4);
}

static void test_certtable_malformed(void **state)
{
    (void)state;
    uint8_t buf[512];
    struct snp_certtable ct;
    const char *why;
    const uint8_t *vg = snp_cert_guid(SNP_CERT_VCEK), *ag = snp_cert_guid(SNP_CERT_ARK);
    uint8_t other[16];
    memset(other, 0x77, sizeof other);

    memset(buf, 0, sizeof buf); /* only a terminator: valid, no certificates */
    assert_int_equal(snp_certtable_parse(buf, 24, &ct, &why), 0);
    assert_int_equal(ct.count, 0);
    assert_int_equal(snp_certtable_parse(buf, 23, &ct, &why), -1);
    assert_int_equal(snp_certtable_parse(buf, 0, &ct, &why), -1);

    struct {
        const char *what;
        uint32_t off1, len1, off2, len2;
        const uint8_t *g2;
        uint32_t term_off;
    } cases[] = {
        {"overlaps entry array", 10, 10, 0, 0, NULL, 0},
        {"inside the terminator", 30, 10, 0, 0, NULL, 0},
        {"straddles the array end", 47, 10, 0, 0, NULL, 0},
        {"zero length", 100, 0, 0, 0, NULL, 0},
        {"outside the table", 500, 13, 0, 0, NULL, 0},
        {"offset beyond end", 0xFFFFFFF0u, 0x20, 0, 0, NULL, 0},
        {"length wraps", 100, 0xFFFFFFFFu, 0, 0, NULL, 0},
        {"overlapping certs", 100, 50, 120, 10, ag, 0},
        {"duplicate GUID", 100, 10, 200, 10, vg, 0},
        {"nonzero terminator fields", 100, 10, 0, 0, NULL, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(buf, 0, sizeof buf);
        put_entry(buf, vg, cases[i].off1, cases[i].len1);
        size_t next = 24;
        if (cases[i].g2) {
            put_entry(buf + 24, cases[i].g2, cases[i].off2, cases[i].len2);
            next = 48;
        }
        put_le(buf + next + 16, cases[i].term_off, 4);
        if (snp_certtable_parse(buf, sizeof buf, &ct, &why) != -1)
            fail_msg("accepted: %s", cases[i].what);
    }
    /* An entry larger than 64 KiB. */
    uint8_t *big = calloc(1, 70000);
    put_entry(big, vg, 48, 65537);
    assert_int_equal(snp_certtable_parse(big, 70000, &ct, &why), -1);
    put_entry(big, vg, 48, 65536);
    assert_int_equal(snp_certtable_parse(big, 70000, &ct, &why), 0);
    free(big);

    /* 64 entries are fine, 65 are not; unknown GUIDs are kept as "other". */
    size_t n = 66 * 24 + 65;
    uint8_t *many = calloc(1, n);
    for (uint32_t i = 0; i < 65; i++) {
        other[0] = (uint8_t)i;
        put_entry(many + 24 * i, other, (uint32_t)(66 * 24 + i), 1);
    }
    assert_int_equal(snp_certtable_parse(many, n, &ct, &why), -1);
    memset(many + 64 * 24, 0, 24); /* terminator after 64 */
    assert_int_equal(snp_certtable_parse(many, n, &ct, &why), 0);
    assert_int_equal(ct.count, 64);
    assert_int_equal(ct.entries[0].kind, SNP_CERT_OTHER);
    assert_null(snp_certtable_find(&ct, SNP_CERT_VCEK));
    free(many);
}

/* ---- the TSNP container ---- */

static void test_container_round_trip_and_strictness(void **state)
{
    (void)state;
    uint8_t rep[SNP_REPORT_LEN];
    build_report(rep, 3, 0x19, 0x11);
    uint8_t vlek[40];
    memset(vlek, 0x44, sizeof vlek);
    struct snp_cert_blob certs[] = {{SNP_CERT_VLEK, vlek, sizeof vlek}};
    struct bytes_writer w;
    writer_init(&w, 1 << 16);
    assert_int_equal(snp_certtable_encode(certs, 1, &w), 0);
    size_t tlen = 0;
    uint8_t *table = writer_take(&w, &tlen);

    writer_init(&w, SNP_EVIDENCE_MAX);
    assert_int_equal(snp_evidence_encode(rep, sizeof rep, table, tlen, &w), 0);
    size_t len = 0;
    uint8_t *ev = writer_take(&w, &len);
    assert_int_equal(len, 12 + 1184 + 4 + tlen);
    assert_memory_equal(ev, "TSNP\x00\x01\x00\x00\x00\x00\x04\xa0", 12);

    struct snp_evidence e;
    const char *why = NULL;
    assert_int_equal(snp_evidence_decode(ev, len, &e, &why), 0);
    assert_int_equal(e.report_len, SNP_REPORT_LEN);
    assert_memory_equal(e.report, rep, SNP_REPORT_LEN);
    assert_true(e.has_certs);
    assert_int_equal(e.parsed.version, 3);
    assert_int_equal(snp_report_generation(&e.parsed), SNP_GEN_GENOA);
    assert_non_null(snp_certtable_find(&e.certs, SNP_CERT_VLEK));

    for (size_t n = 0; n < len; n++)
        assert_int_equal(snp_evidence_decode(ev, n, &e, &why), -1);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, ev, len);
    longer[len] = 0;
    assert_int_equal(snp_evidence_decode(longer, len + 1, &e, &why), -1);
    free(longer);
    static const size_t flips[] = {0, 3, 5, 7, 8, 11, 12 + 0x034, 12 + 1184 + 3, 12 + 1184 + 4 + 16};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        ev[flips[i]] ^= 0x01;
        if (snp_evidence_decode(ev, len, &e, &why) != -1)
            fail_msg("flip at %zu accepted", flips[i]);
        ev[flips[i]] ^= 0x01;
    }
    free(ev);

    /* No certificates. */
    writer_init(&w, SNP_EVIDENCE_MAX);
    assert_int_equal(snp_evidence_encode(rep, sizeof rep, NULL, 0, &w), 0);
    ev = writer_take(&w, &len);
    assert_int_equal(len, 1200);
    assert_int_equal(snp_evidence_decode(ev, len, &e, &why), 0);
    assert_false(e.has_certs);
    assert_null(e.certtable);
    free(ev);

    writer_init(&w, SNP_EVIDENCE_MAX);
    assert_int_equal(snp_evidence_encode(rep, sizeof rep - 1, NULL, 0, &w), -1);
    writer_free(&w);
    free(table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_sev_guest_milan_v2_debug_report),
        cmocka_unit_test(test_virtee_milan_v2_report),
        cmocka_unit_test(test_trustee_milan_v2_report_with_id_block),
        cmocka_unit_test(test_aws_milan_v3_vlek_report),
        cmocka_unit_test(test_real_reports_fail_when_any_byte_is_flipped_or_the_key_is_wrong),
        cmocka_unit_test(test_a_non_p384_key_is_refused),
        cmocka_unit_test(test_turin_v5_report_generation_tcb_and_mitigation_vectors),
        cmocka_unit_test(test_generation_from_cpuid_family_and_model),
        cmocka_unit_test(test_every_truncation_and_a_trailing_byte_are_refused),
        cmocka_unit_test(test_nonzero_reserved_fields_are_refused),
        cmocka_unit_test(test_fields_left_to_the_policy_are_accepted),
        cmocka_unit_test(test_unknown_versions_and_signature_algorithms_are_refused),
        cmocka_unit_test(test_certtable_round_trip_and_lookup),
        cmocka_unit_test(test_certtable_malformed),
        cmocka_unit_test(test_container_round_trip_and_strictness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
