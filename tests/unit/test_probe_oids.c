/*
 * test_probe_oids.c - the attestation OIDs `tether probe` recognises (src/tls/probe.c, research
 * anchors.md section 4): every family the probe names, exact OIDs and sub-arcs, the arc
 * boundary, and the certificate report an extension with each of them produces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls/probe.h"

/* One row per family of the issue and anchors.md: an OID, whether it carries evidence, the
 * TEE it implies (NULL: the OID does not say), and a word of the name. */
static const struct {
    const char *oid;
    bool evidence;
    const char *tee;
    const char *word;
} known[] = {
    /* Intel RA-TLS 1.2.840.113741.1337.* */
    {"1.2.840.113741.1337.6", true, "sgx", "quote"},
    {"1.2.840.113741.1337.2", true, "sgx", "IAS"},
    {"1.2.840.113741.1337.3", false, "sgx", "root"},
    {"1.2.840.113741.1337.77", true, "sgx", "Intel RA-TLS"}, /* unknown child: the arc */
    /* TCG DICE */
    {"2.23.133.5.4.9", true, NULL, "TCG DICE"},
    {"2.23.133.5.4.2", false, NULL, "endorsement"},
    /* Open Enclave 1.3.6.1.4.1.311.105.* */
    {"1.3.6.1.4.1.311.105.1", true, "sgx", "Open Enclave"},
    {"1.3.6.1.4.1.311.105.2", true, "sgx", "Open Enclave"},
    {"1.3.6.1.4.1.311.105.40.1", true, "sgx", "Open Enclave"},
    /* Contrast 1.3.9901.2.* */
    {"1.3.9901.2.1", true, "snp", "Contrast"},
    {"1.3.9901.2.2", true, "tdx", "Contrast"},
    {"1.3.9901.2.9", true, NULL, "Contrast"},
    /* Cocos v1 2.99999.1.* */
    {"2.99999.1.0", true, "snp-vtpm", "Cocos"},
    {"2.99999.1.2", true, "tdx", "Cocos"},
    {"2.99999.1.7", true, NULL, "Cocos"},
    /* Dstack 1.3.6.1.4.1.62397.1.* */
    {"1.3.6.1.4.1.62397.1.1", true, "tdx", "Dstack"},
    {"1.3.6.1.4.1.62397.1.2", false, "tdx", "event log"},
    {"1.3.6.1.4.1.62397.1.3", true, "tdx", "Dstack"},
    /* Enarx 1.3.6.1.4.1.58270.1.* */
    {"1.3.6.1.4.1.58270.1.3", true, "snp", "Enarx"},
    {"1.3.6.1.4.1.58270.1.2", true, "sgx", "Enarx"},
    {"1.3.6.1.4.1.58270.1.9", true, NULL, "Enarx"},
};

static void every_family_exact_and_under_its_arc(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const struct probe_oid *o = probe_oid_lookup(known[i].oid);
        if (!o)
            fail_msg("%s not recognised", known[i].oid);
        assert_int_equal(o->evidence, known[i].evidence);
        if (known[i].tee)
            assert_string_equal(o->tee, known[i].tee);
        else
            assert_null(o->tee);
        if (!strstr(o->name, known[i].word))
            fail_msg("%s: name \"%s\" lacks \"%s\"", known[i].oid, o->name, known[i].word);
    }
}

static void arc_boundaries(void **state)
{
    (void)state;
    /* A longer number is not a child: 1337 vs 13370, 9901 vs 99010. */
    assert_null(probe_oid_lookup("1.2.840.113741.13370"));
    assert_null(probe_oid_lookup("1.2.840.113741.13370.6"));
    assert_null(probe_oid_lookup("1.3.9901.20"));
    assert_null(probe_oid_lookup("2.99999.10"));
    assert_null(probe_oid_lookup("1.3.6.1.4.1.62397.10.1"));
    /* Exact entries are not arcs: nothing lives under the DICE OID. */
    assert_null(probe_oid_lookup("2.23.133.5.4.9.1"));
    /* Parents of an arc, unrelated OIDs and junk. */
    assert_null(probe_oid_lookup("1.3.9901"));
    assert_null(probe_oid_lookup("1.2.840.113741"));
    assert_null(probe_oid_lookup("2.5.29.15")); /* keyUsage */
    assert_null(probe_oid_lookup(""));
    assert_null(probe_oid_lookup(NULL));
    /* Exact entries win over their arc. */
    const struct probe_oid *q = probe_oid_lookup("1.2.840.113741.1337.6");
    const struct probe_oid *arc = probe_oid_lookup("1.2.840.113741.1337");
    assert_non_null(q);
    assert_non_null(arc);
    assert_ptr_not_equal(q, arc);
    assert_true(arc->arc);
}

/* A self-signed certificate with one non-critical extension (OID, 40 opaque bytes). */
static X509 *cert_with_ext(EVP_PKEY *key, const char *oid)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"probe", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    assert_non_null(obj);
    uint8_t junk[40];
    memset(junk, 0xa5, sizeof junk);
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(val, junk, sizeof junk);
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(val);
    ASN1_OBJECT_free(obj);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static void certificate_report_names_each_family(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        X509 *x = cert_with_ext(key, known[i].oid);
        json_t *o = probe_cert_json(x);
        assert_non_null(o);
        json_t *exts = json_object_get(o, "extensions");
        json_t *hit = NULL;
        size_t k;
        json_t *e;
        json_array_foreach(exts, k, e)
        {
            if (strcmp(json_string_value(json_object_get(e, "oid")), known[i].oid) == 0)
                hit = e;
        }
        if (!hit)
            fail_msg("%s missing from the certificate report", known[i].oid);
        assert_true(json_is_true(json_object_get(hit, "attestation")));
        assert_int_equal(json_integer_value(json_object_get(hit, "length")), 40);
        const char *tee = json_string_value(json_object_get(hit, "tee"));
        if (known[i].tee) {
            assert_non_null(tee);
            assert_string_equal(tee, known[i].tee);
        }
        /* Opaque bytes: no evidence backend claims them. */
        assert_true(json_is_null(json_object_get(hit, "evidence_type")));
        json_decref(o);
        X509_free(x);
    }
    /* A certificate with only a standard extension reports no attestation. */
    X509 *x = cert_with_ext(key, "2.5.29.15");
    json_t *o = probe_cert_json(x);
    json_t *e = json_array_get(json_object_get(o, "extensions"), 0);
    assert_non_null(e);
    assert_true(json_is_false(json_object_get(e, "attestation")));
    json_decref(o);
    X509_free(x);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_family_exact_and_under_its_arc),
        cmocka_unit_test(arc_boundaries),
        cmocka_unit_test(certificate_report_names_each_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
