/*
 * record.c - T-9: read a forwarded TLS 1.3 connection with secrets leaked from the server.
 *
 * From the recorded bytes: the client random (ClientHello) and the cipher suite
 * (ServerHello), then CLIENT_TRAFFIC_SECRET_0 for that client random from the NSS key log,
 * the record key and IV (RFC 8446 7.3: HKDF-Expand-Label(secret, "key"/"iv", "", len)), and
 * each client application record decrypted with its per-record nonce (RFC 8446 5.3: IV xor
 * the 64-bit sequence number) and the record header as additional data (5.2). Records that do
 * not open under the application key (the client's Finished, under the handshake key) are
 * skipped without advancing the sequence number.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "lab/lab.h"
#include "util/util.h"

#define REC_HEADER 5
#define TAG_LEN 16

struct record {
    uint8_t type;
    const uint8_t *header;
    const uint8_t *body;
    size_t len;
};

static bool next_record(const uint8_t *p, size_t n, size_t *off, struct record *r)
{
    if (n - *off < REC_HEADER)
        return false;
    const uint8_t *h = p + *off;
    size_t len = (size_t)h[3] << 8 | h[4];
    if (n - *off - REC_HEADER < len)
        return false;
    r->type = h[0];
    r->header = h;
    r->body = h + REC_HEADER;
    r->len = len;
    *off += REC_HEADER + len;
    return true;
}

static int expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
                        const char *label, uint8_t *out, size_t out_len)
{
    /* HkdfLabel = u16 length || u8 len || "tls13 " label || u8 0 (empty context). */
    uint8_t info[2 + 1 + 6 + 32 + 1];
    size_t ll = strlen(label);
    if (ll > 32)
        return -1;
    size_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = 0;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
        OSSL_PARAM_construct_end()};
    int ok = c && EVP_KDF_derive(c, out, out_len, params) == 1;
    EVP_KDF_CTX_free(c);
    return ok ? 0 : -1;
}

/* Decrypt one record; the inner plaintext's content type goes to *type. */
static int open_record(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t iv[12],
                       uint64_t seq, const struct record *r, uint8_t *out, size_t *out_len,
                       uint8_t *type)
{
    if (r->len < TAG_LEN + 1)
        return -1;
    uint8_t nonce[12];
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
    size_t ct_len = r->len - TAG_LEN;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = c && EVP_DecryptInit_ex(c, cipher, NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1 &&
             EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
             EVP_DecryptUpdate(c, NULL, &n, r->header, REC_HEADER) == 1 &&
             EVP_DecryptUpdate(c, out, &n, r->body, (int)ct_len) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(r->body + ct_len)) ==
                 1 &&
             EVP_DecryptFinal_ex(c, out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        return -1;
    /* TLSInnerPlaintext: content || content_type || zeros. */
    size_t len = (size_t)n + (size_t)fin;
    while (len > 0 && out[len - 1] == 0)
        len--;
    if (len == 0)
        return -1;
    *type = out[len - 1];
    *out_len = len - 1;
    return 0;
}

/* The secret of NSS key-log line "<label> <client random hex> <secret hex>". */
static bool find_secret_labelled(const char *label, const char *keylog, size_t keylog_len,
                                 const char *random_hex, uint8_t *secret, size_t *secret_len)
{
    size_t ll = strlen(label);
    const char *p = keylog, *end = keylog + keylog_len;
    for (int lines = 0; p < end && lines < 100000; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n > ll + 1 + 64 + 1 && !memcmp(p, label, ll) && p[ll] == ' ' &&
            !memcmp(p + ll + 1, random_hex, 64) && p[ll + 1 + 64] == ' ') {
            char hex[256];
            size_t hn = n - (ll + 1 + 64 + 1);
            if (hn < sizeof hex) {
                memcpy(hex, p + ll + 1 + 64 + 1, hn);
                hex[hn] = 0;
                if (hex_decode(hex, secret, 64, secret_len) == 0)
                    return true;
            }
        }
        p = le + 1;
    }
    return false;
}

/* The AEAD, hash and key length of a TLS 1.3 suite. */
static int suite_params(uint16_t suite, const EVP_CIPHER **cipher, const EVP_MD **md,
                        size_t *key_len)
{
    switch (suite) {
    case 0x1301: *cipher = EVP_aes_128_gcm(), *md = EVP_sha256(), *key_len = 16; return 0;
    case 0x1302: *cipher = EVP_aes_256_gcm(), *md = EVP_sha384(), *key_len = 32; return 0;
    case 0x1303: *cipher = EVP_chacha20_poly1305(), *md = EVP_sha256(), *key_len = 32; return 0;
    default: return -1;
    }
}

/* One direction's record protection: the cipher suite from the ServerHello that opens s2c
 * (*soff moves past it), the key-log secret `label` for client_random, and from it the record
 * key and IV (RFC 8446 7.3). no_hello and no_secret: the messages for those two missing. */
struct traffic_key {
    uint16_t suite;
    const EVP_CIPHER *cipher;
    uint8_t key[32], iv[12];
};

static int traffic_key(const uint8_t *s2c, size_t s2c_len, size_t *soff,
                       const uint8_t client_random[32], const char *keylog, size_t keylog_len,
                       const char *label, const char *no_hello, const char *no_secret,
                       struct traffic_key *k, char *why, size_t whylen)
{
    /* ServerHello: hs 2 | u24 | version | random[32] | session_id<1> | cipher_suite u16. */
    struct record sh;
    if (!s2c || !next_record(s2c, s2c_len, soff, &sh) || sh.type != 22 || sh.len < 39 ||
        sh.body[0] != 2 || sh.len < (size_t)39 + sh.body[38] + 2) {
        errbuf_set(why, whylen, "%s", no_hello);
        return -1;
    }
    size_t cs_off = 39 + sh.body[38];
    k->suite = (uint16_t)(sh.body[cs_off] << 8 | sh.body[cs_off + 1]);
    const EVP_MD *md;
    size_t key_len;
    if (suite_params(k->suite, &k->cipher, &md, &key_len) != 0) {
        errbuf_set(why, whylen, "cipher suite 0x%04x", k->suite);
        return -1;
    }
    char random_hex[65];
    hex_encode(client_random, 32, random_hex);
    uint8_t secret[64];
    size_t secret_len = 0;
    int rc = 0;
    if (!keylog ||
        !find_secret_labelled(label, keylog, keylog_len, random_hex, secret, &secret_len) ||
        secret_len != (size_t)EVP_MD_get_size(md)) {
        errbuf_set(why, whylen, "%s", no_secret);
        rc = -1;
    } else if (expand_label(md, secret, secret_len, "key", k->key, key_len) != 0 ||
               expand_label(md, secret, secret_len, "iv", k->iv, sizeof k->iv) != 0) {
        errbuf_set(why, whylen, "HKDF-Expand-Label failed");
        rc = -1;
    }
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

/* Open the encrypted records of p from *off under k, sequence numbers from 0 (one per record
 * opened), at most max records read. A record that does not open ends the walk, or with
 * skip_unopened is passed over. The plaintexts of content type `want` go to out; k is
 * cleansed. Returns the number opened. */
static int open_records(struct traffic_key *k, const uint8_t *p, size_t n, size_t *off, int max,
                        bool skip_unopened, uint8_t want, struct lab_log *out)
{
    int opened = 0;
    uint8_t plain[(1 << 14) + 256 + 16];
    struct record r;
    for (int i = 0; i < max && next_record(p, n, off, &r); i++) {
        if (r.type != 23 || r.len > sizeof plain)
            continue; /* change_cipher_spec (middlebox compatibility) */
        size_t len = 0;
        uint8_t type = 0;
        if (open_record(k->cipher, k->key, k->iv, (uint64_t)opened, &r, plain, &len, &type) != 0) {
            if (skip_unopened)
                continue;
            break;
        }
        opened++;
        if (type == want)
            lab_log_append(out, plain, len);
    }
    OPENSSL_cleanse(k, sizeof *k);
    return opened;
}

int lab_decrypt_server_handshake(const uint8_t client_random[32], const uint8_t *s2c,
                                 size_t s2c_len, const char *keylog, size_t keylog_len,
                                 struct lab_log *out, uint16_t *suite_out, char *why,
                                 size_t whylen)
{
    size_t soff = 0;
    struct traffic_key k = {0};
    int rc = traffic_key(s2c, s2c_len, &soff, client_random, keylog, keylog_len,
                         "SERVER_HANDSHAKE_TRAFFIC_SECRET", "no ServerHello in S2's answer",
                         "no SERVER_HANDSHAKE_TRAFFIC_SECRET for this ClientHello in the key log",
                         &k, why, whylen);
    if (k.cipher && suite_out) /* the suite is known, even when its secret is not */
        *suite_out = k.suite;
    if (rc != 0)
        return -1;
    /* The handshake records, up to the first that does not open under the handshake key. */
    return open_records(&k, s2c, s2c_len, &soff, 64, false, 22, out);
}

int lab_decrypt_client_records(const uint8_t *c2s, size_t c2s_len, const uint8_t *s2c,
                               size_t s2c_len, const char *keylog, size_t keylog_len,
                               struct lab_log *out, char *why, size_t whylen)
{
    struct record ch;
    size_t coff = 0, soff = 0;
    /* ClientHello: type 22 | hs 1 | u24 | version u16 | random[32]. */
    if (!c2s || !s2c || !next_record(c2s, c2s_len, &coff, &ch) || ch.type != 22 || ch.len < 38 ||
        ch.body[0] != 1) {
        errbuf_set(why, whylen, "no ClientHello in the recorded stream");
        return -1;
    }
    struct traffic_key k;
    if (traffic_key(s2c, s2c_len, &soff, ch.body + 6, keylog, keylog_len,
                    "CLIENT_TRAFFIC_SECRET_0", "no ServerHello in the recorded stream",
                    "no CLIENT_TRAFFIC_SECRET_0 for this connection in the key log", &k, why,
                    whylen) != 0)
        return -1;
    /* The application records; a handshake-key record (the client's Finished) is skipped. */
    return open_records(&k, c2s, c2s_len, &coff, 100000, true, 23, out);
}
