/*
 * cells.c - the expected-results matrix (research protocol.md 9.3, and 9.2 for the tether
 * rows): which scenario runs against which mode and policy, and what must happen. The table
 * is the specification; lab_as_expected is the only judge of a cell.
 */
#include <string.h>

#include "lab/lab.h"

const struct lab_scenario_info lab_scenarios[] = {
    {"T-1", "nonce-only relay (copied nonce, attacker's own key)",
     "Meta Private Processing (binder #1/#2: report_data over a client nonce only)"},
    {"T-2", "key-bound relay with the TEE's extracted TLS key",
     "Cocos 0.4.0-0.8.2 (CVE-2026-33697), Edgeless Contrast (GHSA-hjgc-jc5v-fw7h), "
     "CCC attested-tls-poc (binder #6)"},
    {"T-3", "replay of certificate, evidence and extracted key",
     "Intel RA-TLS, Gramine, rats-tls (binder #4: evidence over the key, no freshness)"},
    {"T-4", "early-exporter relay (ClientHello forwarded verbatim)",
     "draft-fossati-tls-attestation-06 (binders #3/#5/#7: evidence over the TLS early exporter)"},
    {"T-5", "EA relay: request forwarded, leaked authenticator key, re-signed",
     "a relay against tether's own design (draft-fossati-seat-expat, Cocos >= 0.9.0)"},
    {"T-6", "EA relay: context rewritten, leaked authenticator key, re-signed",
     "a relay against tether's own design (draft-fossati-seat-expat, Cocos >= 0.9.0)"},
    {"T-7", "byte-forwarding relay (control: no false positive)", "harness control"},
    {"T-8", "attestation oracle: evidence over attacker-chosen report_data",
     "a guest agent, configfs-tsm or GetAttestation service reachable by untrusted code "
     "(residual: breaks every binder)"},
    {"T-9", "leaked TLS traffic secrets, records decrypted",
     "TEE.fail / WireTap-class memory extraction of live session keys (residual)"},
    {"T-10", "diversion to another genuine platform (plain TCP re-route)",
     "Identity Crisis (AsiaCCS 2026): Intel RA-TLS, draft-fossati-tls-attestation; any binder"},
    {"T-11", "stale evidence beside a fresh binder", "Cocos GHSA-j7r9-wq7m-6hcp"},
    {"T-12", "empty or all-zero expected report_data",
     "Cocos GHSA-4r6g-mp48-j2rw and GHSA-4px3-wj2x-xx47"},
    {"T-13", "exporter-label confusion (\"Attestation Binding\")",
     "draft-fossati-seat-expat's two labels; Cocos #589 ErrUnexpectedExporterLabel"},
    {"T-14", "cmw_attestation on a non-leaf certificate entry",
     "RFC 9261 5.2.1 / draft-fossati-seat-expat placement rule"},
    {"T-15", "replay of a whole authenticator on another connection",
     "RFC 9261 context uniqueness; Cocos ErrContextReuse"},
    {"T-16", "application data before attestation",
     "draft-fossati-seat-expat \"Using the TLS Connection\""},
    {"T-17", "session tickets, resumption, 0-RTT",
     "draft-fossati-seat-expat: no tickets, no resumption, no early data"},
    {"T-18", "reflection in mutual attestation", "Fraunhofer-AISEC cmc#406"},
    {"T-19", "weak TLS parameters (TLS 1.2, FFDHE group)",
     "Privasys critique of the level-3 argument (weak groups)"},
    {"T-20", "authenticator key reuse across connections and instances",
     "Contrast's one server key per process"},
};
const size_t lab_n_scenarios = sizeof lab_scenarios / sizeof lab_scenarios[0];

const struct lab_scenario_info *lab_scenario(const char *id)
{
    for (size_t i = 0; i < lab_n_scenarios; i++)
        if (!strcmp(lab_scenarios[i].id, id))
            return &lab_scenarios[i];
    return NULL;
}

#define T LAB_TETHER
#define RN LAB_RA_NONCE
#define RK LAB_RA_KEY
#define RKN LAB_RA_KEY_NONCE
#define REE LAB_RA_EARLY_EXPORTER
#define DEF LAB_DEFAULT
#define PID LAB_PLATFORM_ID

#define SUCCEEDS "attack succeeds"
#define RESIDUAL "attack succeeds (residual: no binding can stop it)"

/* The legacy client reports a bad binder with the same code as tether's binder check. */
const struct lab_cell lab_cells[] = {
    /* T-1: nonce relay (9.3 column 1). ra-key has no nonce (n/a); tether has none (-). */
    {"T-1", RN, DEF, lab_t1_nonce_relay, EXPECT_ATTACK, NULL, false, SUCCEEDS, NULL},
    {"T-1", RKN, DEF, lab_t1_nonce_relay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch: the evidence binds S2's key, not the attacker's)", NULL},
    {"T-1", REE, DEF, lab_t1_nonce_relay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch: S2's early exporter is over the attacker's ClientHello)", NULL},
    /* T-2: key relay with the leaked TLS key. */
    {"T-2", RN, DEF, lab_t2_key_relay, EXPECT_ATTACK, NULL, false, SUCCEEDS, NULL},
    {"T-2", RK, DEF, lab_t2_key_relay, EXPECT_ATTACK, NULL, false, SUCCEEDS, NULL},
    {"T-2", RKN, DEF, lab_t2_key_relay, EXPECT_ATTACK, NULL, false, SUCCEEDS, NULL},
    {"T-2", REE, DEF, lab_t2_key_relay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails* (binder_mismatch: S2's early exporter is over the attacker's ClientHello; "
     "* succeeds when the ClientHello is forwarded and S2's evidence leaks, T-4)", NULL},
    /* T-3: replay. */
    {"T-3", RK, DEF, lab_t3_replay, EXPECT_ATTACK, NULL, false,
     "attack succeeds (every replayed session)", NULL},
    {"T-3", RKN, DEF, lab_t3_replay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch: a new nonce per session)", NULL},
    {"T-3", REE, DEF, lab_t3_replay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch: a new nonce and ClientHello per session)", NULL},
    {"T-3", T, DEF, lab_t3_replay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch)", NULL},
    {"T-3", T, PID, lab_t3_replay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch)", NULL},
    /* T-4: C's ClientHello forwarded verbatim to S2. Byte relay: S2's Certificate is
     * encrypted under C's key share, so the attacker can only forward (C reaches S2 and the
     * attacker reads nothing). With the clear-evidence hook (S2's handshake secret leaked)
     * the attacker answers C itself with S2's certificate and leaked key: C accepts. */
    {"T-4", REE, DEF, lab_t4_byte_relay, EXPECT_ACCEPTED, NULL, false,
     "attack fails (S2's Certificate is encrypted under the client's key share: the attacker "
     "can only forward, the client reaches S2 end to end, the attacker reads nothing)",
     "byte-relay"},
    {"T-4", REE, DEF, lab_t4_clear_evidence, EXPECT_ATTACK, NULL, false,
     "attack succeeds (S2's evidence read with its leaked handshake secret; the early exporter "
     "is public, so S2's evidence fits the attacker's own handshake with the client)",
     "clear-evidence-hook"},
    /* T-5 / T-6: the relay against tether: the binder decides. */
    {"T-5", T, DEF, lab_t5_t6_ea_relay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch)", NULL},
    {"T-5", T, PID, lab_t5_t6_ea_relay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch)", NULL},
    {"T-6", T, DEF, lab_t5_t6_ea_relay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch)", NULL},
    {"T-6", T, PID, lab_t5_t6_ea_relay, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch)", NULL},
    /* T-7: control. */
    {"T-7", T, DEF, lab_t7_byte_forward, EXPECT_ACCEPTED, NULL, false,
     "client accepts, attacker reads nothing (control)", NULL},
    /* T-8: the attestation oracle breaks every binder. */
    {"T-8", RN, DEF, lab_t8_oracle, EXPECT_ATTACK, NULL, true, RESIDUAL, NULL},
    {"T-8", RK, DEF, lab_t8_oracle, EXPECT_ATTACK, NULL, true, RESIDUAL, NULL},
    {"T-8", RKN, DEF, lab_t8_oracle, EXPECT_ATTACK, NULL, true, RESIDUAL, NULL},
    {"T-8", REE, DEF, lab_t8_oracle, EXPECT_ATTACK, NULL, true, RESIDUAL, NULL},
    {"T-8", T, DEF, lab_t8_oracle, EXPECT_ATTACK, NULL, true, RESIDUAL, NULL},
    {"T-8", T, PID, lab_t8_oracle, EXPECT_ATTACK, NULL, true, RESIDUAL, NULL},
    /* T-9: leaked live traffic secrets. */
    {"T-9", T, DEF, lab_t9_leaked_secrets, EXPECT_ATTACK, NULL, true, RESIDUAL, NULL},
    /* T-10: diversion; only a platform-identity policy stops it. */
    {"T-10", RN, DEF, lab_t10_diversion, EXPECT_DIVERTED, NULL, false,
     "attack succeeds (client accepts platform P2)", NULL},
    {"T-10", RN, PID, lab_t10_diversion, EXPECT_BLOCKED, "platform_not_allowed", false,
     "attack fails (platform_not_allowed)", NULL},
    {"T-10", RK, DEF, lab_t10_diversion, EXPECT_DIVERTED, NULL, false,
     "attack succeeds (client accepts platform P2)", NULL},
    {"T-10", RK, PID, lab_t10_diversion, EXPECT_BLOCKED, "platform_not_allowed", false,
     "attack fails (platform_not_allowed)", NULL},
    {"T-10", RKN, DEF, lab_t10_diversion, EXPECT_DIVERTED, NULL, false,
     "attack succeeds (client accepts platform P2)", NULL},
    {"T-10", RKN, PID, lab_t10_diversion, EXPECT_BLOCKED, "platform_not_allowed", false,
     "attack fails (platform_not_allowed)", NULL},
    {"T-10", REE, DEF, lab_t10_diversion, EXPECT_DIVERTED, NULL, false,
     "attack succeeds (client accepts platform P2)", NULL},
    {"T-10", REE, PID, lab_t10_diversion, EXPECT_BLOCKED, "platform_not_allowed", false,
     "attack fails (platform_not_allowed)", NULL},
    {"T-10", T, DEF, lab_t10_diversion, EXPECT_DIVERTED, NULL, false,
     "attack succeeds (client accepts platform P2)", NULL},
    {"T-10", T, PID, lab_t10_diversion, EXPECT_BLOCKED, "platform_not_allowed", false,
     "attack fails (platform_not_allowed)", NULL},
    /* T-11 .. T-20: the strong mode's other checks (9.2). */
    {"T-11", T, DEF, lab_t11_stale_evidence, EXPECT_BLOCKED, "binder_mismatch", false,
     "attack fails (binder_mismatch)", NULL},
    {"T-12", T, DEF, lab_t12_empty_expected, EXPECT_BLOCKED, "binder_expected_empty", false,
     "verification fails (binder_expected_empty)", NULL},
    {"T-13", T, DEF, lab_t13_label_confusion, EXPECT_BLOCKED, "exporter_label_mismatch", false,
     "attack fails (exporter_label_mismatch)", NULL},
    {"T-14", T, DEF, lab_t14_cmw_placement, EXPECT_BLOCKED, "ea_cmw_not_on_leaf", false,
     "attack fails (ea_cmw_not_on_leaf)", NULL},
    {"T-15", T, DEF, lab_t15_authenticator_replay, EXPECT_BLOCKED, "ea_context_mismatch", false,
     "attack fails (ea_context_mismatch)", NULL},
    {"T-16", T, DEF, lab_t16_data_first, EXPECT_BLOCKED, "data_before_attestation", false,
     "attack fails (data_before_attestation; nothing delivered)", NULL},
    {"T-17", T, DEF, lab_t17_tickets, EXPECT_BLOCKED, NULL, false,
     "attack fails (no ticket sent; tickets received are never used)", NULL},
    {"T-18", T, DEF, lab_t18_reflection, EXPECT_BLOCKED, "ea_bad_signature", false,
     "attack fails (ea_bad_signature)", NULL},
    {"T-19", T, DEF, lab_t19_weak_tls, EXPECT_BLOCKED, "tls", false,
     "attack fails (tls: handshake refused)", NULL},
    {"T-20", T, DEF, lab_t20_key_reuse, EXPECT_ACCEPTED, NULL, false,
     "every connection presents a distinct authenticator key", NULL},
};
const size_t lab_n_cells = sizeof lab_cells / sizeof lab_cells[0];

bool lab_as_expected(const struct lab_cell *c, const struct lab_outcome *o)
{
    if (o->lab_error)
        return false;
    switch (c->expect) {
    case EXPECT_NOT_RUNNABLE:
        return !o->ran && o->reason[0];
    case EXPECT_ATTACK:
        return o->ran && o->client_accepted && o->attacker_read_secret && o->check_ok;
    case EXPECT_DIVERTED:
    case EXPECT_ACCEPTED:
        return o->ran && o->client_accepted && !o->attacker_read_secret && o->check_ok;
    case EXPECT_BLOCKED:
        return o->ran && !o->client_accepted && !o->attacker_read_secret && o->check_ok &&
               (!c->expect_code || !strcmp(o->code, c->expect_code));
    }
    return false;
}
