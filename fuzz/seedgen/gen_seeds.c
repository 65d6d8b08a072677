/*
 * gen_seeds.c - writes the SYNTHETIC fuzz seeds of the SEV-SNP and DCAP harnesses
 * (fuzz/seeds/{snp_report,snp_vcek_ext,snp_certtable,snp_evidence,dcap_quote,dcap_pck_ext,
 * dcap_tcbinfo,dcap_qeid,dcap_collateral_set,tpm_evidence,tpm_quote}/synthetic_*) from the
 * generated test hierarchies and keys of tests/lib/{snp,tdx,tpm}_fixture.c: every key is a fresh test key,
 * nothing is recorded from hardware or chains to a vendor. The recorded vectors of
 * ../shared/vectors are added at run time by scripts/fuzz-smoke.sh instead.
 * Not a harness: `make test-build` builds it as build/tests/gen_seeds (so it keeps compiling);
 * run `build/tests/gen_seeds fuzz/seeds` to rewrite the synthetic seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "evidence/snp/snp_certtable.h"
#include "evidence/snp/snp_evidence.h"
#include "lib/snp_fixture.h"
#include "lib/tdx_fixture.h"
#include "lib/tpm_fixture.h"
#include "util/bytes.h"

static const char *root;

static void put(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static size_t der(X509 *x, uint8_t **out)
{
    *out = NULL;
    int n = i2d_X509(x, out);
    if (n <= 0)
        exit(1);
    return (size_t)n;
}

static void snp_seeds(void)
{
    if (snp_fx_setup() != 0)
        exit(1);
    uint8_t rep[SNP_REPORT_LEN];
    struct snp_fx_spec s = snp_fx_default_spec();
    snp_fx_build_report(&s, snp_fx.vcek_key, rep);
    put("snp_report", "synthetic_milan_v3_vcek.bin", rep, sizeof rep);
    s.signing_key = 1;
    s.vmpl = 1;
    s.version = 2;
    uint8_t vrep[SNP_REPORT_LEN];
    snp_fx_build_report(&s, snp_fx.vlek_key, vrep);
    put("snp_report", "synthetic_milan_v2_vlek.bin", vrep, sizeof vrep);
    s = snp_fx_default_spec();
    s.turin = true;
    s.version = 5;
    uint8_t trep[SNP_REPORT_LEN];
    snp_fx_build_report(&s, snp_fx.turin_key, trep);
    put("snp_report", "synthetic_turin_v5.bin", trep, sizeof trep);

    uint8_t *vcek, *vlek, *turin, *ask, *ark, *asvk;
    size_t n_vcek = der(snp_fx.vcek, &vcek), n_vlek = der(snp_fx.vlek, &vlek),
           n_turin = der(snp_fx.turin_vcek, &turin), n_ask = der(snp_fx.ask, &ask),
           n_ark = der(snp_fx.ark, &ark), n_asvk = der(snp_fx.asvk, &asvk);
    put("snp_vcek_ext", "synthetic_vcek.der", vcek, n_vcek);
    put("snp_vcek_ext", "synthetic_vlek.der", vlek, n_vlek);
    put("snp_vcek_ext", "synthetic_turin_vcek.der", turin, n_turin);

    struct snp_cert_blob full[3] = {{SNP_CERT_VCEK, vcek, n_vcek},
                                    {SNP_CERT_ASK, ask, n_ask},
                                    {SNP_CERT_ARK, ark, n_ark}};
    struct snp_cert_blob vl[2] = {{SNP_CERT_VLEK, vlek, n_vlek}, {SNP_CERT_ASK, asvk, n_asvk}};
    struct bytes_writer w;
    size_t n;
    uint8_t *t_full, *t_vl, *ev;
    writer_init(&w, 4096);
    if (snp_certtable_encode(full, 3, &w) != 0 || !(t_full = writer_take(&w, &n)))
        exit(1);
    put("snp_certtable", "synthetic_vcek_ask_ark.bin", t_full, n);
    size_t n_full = n;
    writer_init(&w, 4096);
    if (snp_certtable_encode(vl, 2, &w) != 0 || !(t_vl = writer_take(&w, &n)))
        exit(1);
    put("snp_certtable", "synthetic_vlek_asvk.bin", t_vl, n);
    size_t n_vl = n;

    writer_init(&w, 8192);
    if (snp_evidence_encode(rep, sizeof rep, t_full, n_full, &w) != 0 || !(ev = writer_take(&w, &n)))
        exit(1);
    put("snp_evidence", "synthetic_vcek_chain.bin", ev, n);
    free(ev);
    writer_init(&w, 8192);
    if (snp_evidence_encode(vrep, sizeof vrep, t_vl, n_vl, &w) != 0 || !(ev = writer_take(&w, &n)))
        exit(1);
    put("snp_evidence", "synthetic_vlek.bin", ev, n);
    free(ev);
    writer_init(&w, 2048);
    if (snp_evidence_encode(rep, sizeof rep, NULL, 0, &w) != 0 || !(ev = writer_take(&w, &n)))
        exit(1);
    put("snp_evidence", "synthetic_no_certs.bin", ev, n);
    free(ev);
    free(t_full);
    free(t_vl);
    OPENSSL_free(vcek);
    OPENSSL_free(vlek);
    OPENSSL_free(turin);
    OPENSSL_free(ask);
    OPENSSL_free(ark);
    OPENSSL_free(asvk);
    snp_fx_teardown();
}

static void dcap_seeds(void)
{
    struct tdx_fx_hier h;
    tdx_fx_generate(&h);
    uint8_t rd[64];
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0x40 + i);
    struct tdx_fx_buf q = {0};
    tdx_fx_build_quote(&h, NULL, rd, &q);
    put("dcap_quote", "synthetic_tdx_v4.bin", q.p, q.len);
    tdx_fx_buf_free(&q);

    /* the PCK leaf's SGX extension value */
    ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int at = X509_get_ext_by_OBJ(h.pck, oid, -1);
    X509_EXTENSION *ext = at >= 0 ? X509_get_ext(h.pck, at) : NULL;
    ASN1_OCTET_STRING *v = ext ? X509_EXTENSION_get_data(ext) : NULL;
    if (!v)
        exit(1);
    put("dcap_pck_ext", "synthetic_pck.der", ASN1_STRING_get0_data(v),
        (size_t)ASN1_STRING_length(v));
    ASN1_OBJECT_free(oid);

    struct tdx_fx_collateral c;
    time_t now = time(NULL);
    tdx_fx_collateral(&h, now - TDX_FX_DAY, now + 30 * TDX_FX_DAY, true, &c);
    put("dcap_tcbinfo", "synthetic_tdx_tcbinfo.json", c.tcbinfo.p, c.tcbinfo.len);
    put("dcap_qeid", "synthetic_td_qe_identity.json", c.qe_identity.p, c.qe_identity.len);
    struct tdx_fx_file files[TDX_FX_COLLATERAL_FILES];
    tdx_fx_collateral_files(&c, files);
    for (int i = 0; i < TDX_FX_COLLATERAL_FILES; i++) {
        char name[128];
        snprintf(name, sizeof name, "synthetic_%s", files[i].name);
        put("dcap_collateral_set", name, files[i].buf->p, files[i].buf->len);
    }
    tdx_fx_collateral_free(&c);
    tdx_fx_hier_free(&h);
}

/* TPM: the RSA and P-384 shapes the recorded GCE and swtpm quotes used to cover, rebuilt from
 * fresh keys: RSASSA and RSAPSS over SHA-256, two PCR banks, an AK certificate; and the
 * tpm_quote harness's framing (u16 len | TPMS_ATTEST | u16 len | TPMT_SIGNATURE | TPMT_PUBLIC). */
static void tpm_quote_seed(const char *name, EVP_PKEY *k, enum tpm_fixture_sign mode,
                           uint16_t scheme)
{
    struct tpm_pcr_bank bank;
    memset(&bank, 0, sizeof bank);
    bank.hash_alg = TPM_ALG_SHA256;
    bank.present = 0xffu; /* PCRs 0-7 */
    for (unsigned i = 0; i < 8; i++)
        memset(bank.value[i], (int)(0x40 + i), 32);
    struct tpm_fixture_attest a;
    uint8_t digest[TPM_MAX_DIGEST];
    tpm_fixture_default_attest(&a);
    tpm_fixture_attest_pcrs(&a, &bank, 1, TPM_ALG_SHA256, digest);
    size_t al = 0, sl = 0, pl = 0;
    uint8_t *att = tpm_fixture_build_attest(&a, &al);
    uint8_t *sig = tpm_fixture_sign(k, mode, TPM_ALG_SHA256, 0, att, al, &sl);
    uint8_t n[512];
    struct tpm_fixture_public pub;
    tpm_fixture_rsa_public(k, n, (size_t)EVP_PKEY_get_size(k), scheme, &pub);
    uint8_t *pb = tpm_fixture_build_public(&pub, &pl);
    struct bytes_writer w;
    writer_init(&w, 1u << 16);
    writer_u16(&w, (uint16_t)al);
    writer_bytes(&w, att, al);
    writer_u16(&w, (uint16_t)sl);
    writer_bytes(&w, sig, sl);
    writer_bytes(&w, pb, pl);
    if (w.failed)
        exit(1);
    put("tpm_quote", name, w.data, w.len);
    writer_free(&w);
    free(att);
    free(sig);
    free(pb);
}

static void tpm_seeds(void)
{
    EVP_PKEY *rsa = tpm_fixture_key("RSA-2048"), *p384 = tpm_fixture_key("P-384");
    if (!rsa || !p384)
        exit(1);
    tpm_quote_seed("synthetic_rsa2048_rsassa.bin", rsa, TPM_FIXTURE_PKCS1, TPM_ALG_RSASSA);
    tpm_quote_seed("synthetic_rsa2048_rsapss.bin", rsa, TPM_FIXTURE_PSS_DIGEST, TPM_ALG_RSAPSS);

    time_t now = time(NULL);
    X509 *cert = tpm_fixture_cert(rsa, "synthetic AK", NULL, NULL, false, now - 3600,
                                  now + 86400);
    size_t cl = 0;
    uint8_t *cder = tpm_fixture_der(cert, &cl);
    struct tpm_fixture_spec s;
    tpm_fixture_spec_init(&s, rsa);
    for (unsigned i = 0; i < 8; i++) {
        tpm_fixture_set_pcr(&s, TPM_ALG_SHA256, i, NULL);
        tpm_fixture_set_pcr(&s, TPM_ALG_SHA1, i, NULL);
    }
    s.certs[0] = cder;
    s.cert_lens[0] = cl;
    s.n_certs = 1;
    size_t el = 0;
    uint8_t *ev = tpm_fixture_evidence(&s, &el);
    put("tpm_evidence", "synthetic_rsa2048_two_banks_cert.bin", ev, el);
    free(ev);
    tpm_fixture_spec_init(&s, rsa);
    s.rsa_scheme = TPM_ALG_RSAPSS;
    tpm_fixture_set_pcr(&s, TPM_ALG_SHA256, 7, NULL);
    ev = tpm_fixture_evidence(&s, &el);
    put("tpm_evidence", "synthetic_rsa2048_rsapss.bin", ev, el);
    free(ev);
    tpm_fixture_spec_init(&s, p384);
    for (unsigned i = 0; i < 4; i++)
        tpm_fixture_set_pcr(&s, TPM_ALG_SHA384, i, NULL);
    ev = tpm_fixture_evidence(&s, &el);
    put("tpm_evidence", "synthetic_p384_sha384.bin", ev, el);
    free(ev);
    free(cder);
    X509_free(cert);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s fuzz/seeds\n", argv[0]);
        return 2;
    }
    root = argv[1];
    snp_seeds();
    dcap_seeds();
    tpm_seeds();
    return 0;
}
