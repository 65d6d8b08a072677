/*
 * gen_seeds.c - writes the SYNTHETIC fuzz seeds of the SEV-SNP and DCAP harnesses
 * (fuzz/seeds/{snp_report,snp_vcek_ext,snp_certtable,snp_evidence,dcap_quote,dcap_pck_ext,
 * dcap_tcbinfo,dcap_qeid,dcap_collateral_set}/synthetic_*) from the generated test hierarchies
 * of tests/lib/snp_fixture.c and tests/lib/tdx_fixture.c: every key is a fresh test key,
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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s fuzz/seeds\n", argv[0]);
        return 2;
    }
    root = argv[1];
    snp_seeds();
    dcap_seeds();
    return 0;
}
