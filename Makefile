# tether - build, test, demo, bench, fuzz. Plain make; see README.md.
#   make            library (static + shared) and the tether CLI
#   make demo       sim-TEE server and client on loopback, prints the verification report
#   make test       unit + loopback integration tests, normal and ASan+UBSan builds, fuzz smoke
#   make bench      attested connection vs plain TLS 1.3 (docs/performance.md)
#   make fuzz       build the libFuzzer harnesses (clang); make fuzz-smoke runs each briefly

BUILD   ?= build
CC      ?= cc
SAN     ?=
V       ?=
FUZZ_SECONDS ?= 6

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wvla
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-fPIC -fvisibility=hidden -Iinclude -Isrc -DTETHER_BUILDING_LIBRARY -MMD -MP
# tss2 (libtss2-dev): the TPM attester (src/attester/tpm) talks to a TPM through ESYS.
LIBS    := -lssl -lcrypto -ljansson -lcurl \
	$(shell pkg-config --libs tss2-esys tss2-tctildr tss2-mu tss2-rc 2>/dev/null || echo -ltss2-esys -ltss2-tctildr -ltss2-mu -ltss2-rc)
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ALL_CFLAGS += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
endif

LIB_SRC  := $(shell find src -name '*.c' -not -path 'src/testhooks/*' | LC_ALL=C sort)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
# The connection layer is built a second time with test-only hooks (key leak) for the
# integration tests; those objects never enter libtether.a or libtether.so.
HOOK_SRC := $(filter src/tls/%,$(LIB_SRC))
HOOK_OBJ := $(HOOK_SRC:%.c=$(BUILD)/objt/%.o)
# Test-only powers (attestation oracle, key and keylog leaks) live in src/testhooks and are
# linked only into tests and tether-lab, never into the production library or the tether CLI.
TESTHOOK_SRC := $(wildcard src/testhooks/*.c)
TESTHOOK_OBJ := $(TESTHOOK_SRC:%.c=$(BUILD)/objt/%.o)
TEST_LIB_OBJ := $(filter-out $(HOOK_SRC:%.c=$(BUILD)/obj/%.o),$(LIB_OBJ)) $(HOOK_OBJ) $(TESTHOOK_OBJ)
LAB_SRC  := $(wildcard tools/lab/*.c)
LAB_OBJ  := $(LAB_SRC:%.c=$(BUILD)/objt/%.o)
TOOL_SRC := $(wildcard tools/*.c)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
INTEG_SRC := $(wildcard tests/integ/test_*.c)
INTEG_BIN := $(INTEG_SRC:tests/integ/%.c=$(BUILD)/tests/%)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/obj/%.o)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_SRC := $(wildcard bench/*.c)

.PHONY: all deps demo test test-build check-symbols bench fuzz fuzz-smoke clean
all: $(BUILD)/libtether.a $(BUILD)/libtether.so $(BUILD)/tether $(if $(LAB_SRC),$(BUILD)/tether-lab)

deps:
	@sh scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  CC $<";)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/objt/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  CC [test-hooks] $<";)$(CC) $(ALL_CFLAGS) -DTETHER_TEST_HOOKS -Itools -c $< -o $@

# Static library: one relocatable object with every hidden symbol made local, so only the
# tether_ API is visible to programs that link it.
$(BUILD)/libtether.a: $(LIB_OBJ)
	@mkdir -p $(BUILD)
	ld -r -o $(BUILD)/tether-all.o $(LIB_OBJ)
	objcopy --localize-hidden $(BUILD)/tether-all.o
	rm -f $@ && ar rcs $@ $(BUILD)/tether-all.o

$(BUILD)/libtether.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libtether.so.0 -Wl,-z,relro,-z,now $(LDFLAGS) -o $@ $(LIB_OBJ) $(LIBS)

$(BUILD)/tether: $(TOOL_OBJ) $(BUILD)/libtether.a
	$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(BUILD)/libtether.a $(LIBS)

# The relay lab: scripted attackers with the test-only powers (tether lab runs it).
$(BUILD)/tether-lab: $(LAB_OBJ) $(TEST_LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $(LAB_OBJ) $(TEST_LIB_OBJ) $(LIBS) -lpthread

$(BUILD)/tests/test_%: tests/unit/test_%.c $(TEST_LIB_OBJ) $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  TEST $@";)$(CC) $(ALL_CFLAGS) -DTETHER_TEST_HOOKS -Itests $(LDFLAGS) -o $@ $< $(TEST_LIB_OBJ) $(TESTLIB_OBJ) $(LIBS) -lcmocka -lpthread

$(BUILD)/tests/test_%: tests/integ/test_%.c $(TEST_LIB_OBJ) $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  TEST $@";)$(CC) $(ALL_CFLAGS) -DTETHER_TEST_HOOKS -Itests $(LDFLAGS) -o $@ $< $(TEST_LIB_OBJ) $(TESTLIB_OBJ) $(LIBS) -lcmocka -lpthread

# Test-only stand-ins for an SEV-SNP guest's configfs-tsm (tests/cli/snp_e2e.sh): the fake
# "kernel" and its LD_PRELOAD shim. Never linked into libtether or the tether CLI.
TESTTOOL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
TESTTOOL_BIN := $(BUILD)/tests/fake_sev_guest $(BUILD)/tests/fake_tsm_preload.so
TESTTOOL_BIN += $(BUILD)/tests/fake_tdx_guest
# The TDX fake (tests/cli/tdx_e2e.sh) checks every quote it serves with the library's own DCAP
# parser and signature checks: it links those few objects directly.
FAKE_TDX_OBJ := $(addprefix $(BUILD)/obj/src/,evidence/dcap/dcap_quote.o util/bytes.o util/der.o util/util.o util/x509util.o)
# Both fakes share the configfs-tsm "kernel" loop (tests/tools/fake_tsm_kernel.c).
FAKE_TSM_KERNEL := tests/tools/fake_tsm_kernel.c
# Its hierarchy, collateral and quotes come from tests/lib/tdx_fixture.c (shared with the unit
# tests).
FAKE_TDX_OBJ += $(BUILD)/obj/tests/lib/tdx_fixture.o
$(BUILD)/tests/fake_tdx_guest: tests/tools/fake_tdx_guest.c $(FAKE_TSM_KERNEL) tests/tools/fake_tsm_kernel.h $(FAKE_TDX_OBJ)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  TOOL $@";)$(CC) $(TESTTOOL_CFLAGS) -Isrc -Itests $(LDFLAGS) -o $@ $< $(FAKE_TSM_KERNEL) $(FAKE_TDX_OBJ) -lcrypto
# The generator of the synthetic fuzz seeds (fuzz/seedgen/gen_seeds.c) is built with the tests
# so that it keeps compiling; `$(BUILD)/tests/gen_seeds fuzz/seeds` rewrites the synthetic_*
# seeds from the test hierarchies of tests/lib.
TESTTOOL_BIN += $(BUILD)/tests/gen_seeds
$(BUILD)/tests/gen_seeds: fuzz/seedgen/gen_seeds.c $(TEST_LIB_OBJ) $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  TOOL $@";)$(CC) $(ALL_CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(TEST_LIB_OBJ) $(TESTLIB_OBJ) $(LIBS) -lcmocka -lpthread
# The SEV-SNP fake's certificates and reports come from tests/lib/snp_fixture.c (shared with the
# unit tests), which writes its files with util.c.
FAKE_SEV_OBJ := $(BUILD)/obj/src/util/util.o $(BUILD)/obj/tests/lib/snp_fixture.o
$(BUILD)/tests/fake_sev_guest: tests/tools/fake_sev_guest.c $(FAKE_TSM_KERNEL) tests/tools/fake_tsm_kernel.h $(FAKE_SEV_OBJ)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  TOOL $@";)$(CC) $(TESTTOOL_CFLAGS) -Isrc -Itests $(LDFLAGS) -o $@ $< $(FAKE_TSM_KERNEL) $(FAKE_SEV_OBJ) -lcrypto
$(BUILD)/tests/fake_tsm_preload.so: tests/tools/fake_tsm_preload.c
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  TOOL $@";)$(CC) $(TESTTOOL_CFLAGS) -fPIC -shared -o $@ $< -ldl

test-build: all $(UNIT_BIN) $(INTEG_BIN) $(TESTTOOL_BIN)

# Exported symbols of the production library: tether_ only, and no test hook.
check-symbols: $(BUILD)/libtether.so $(BUILD)/libtether.a
	@sh scripts/check-symbols.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory test-build
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 CC=clang test-build
	@$(MAKE) --no-print-directory check-symbols
	@$(MAKE) --no-print-directory fuzz-smoke FUZZ_SECONDS=$(FUZZ_SECONDS)
	@sh scripts/run-tests.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench_connect $(BUILD)/bench_snp $(BUILD)/bench_dcap
	@sh scripts/bench.sh $(BUILD)

# libFuzzer harnesses: each links the library sources compiled by clang with the fuzzer.
FUZZ_CC ?= clang
FUZZ_COMMON := -std=c11 -g -O1 -MMD -MP -fno-sanitize-recover=undefined \
	-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude -Isrc -DTETHER_BUILDING_LIBRARY
# The library is compiled once with coverage and sanitizers; each harness links against it.
FUZZ_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzzobj/%.o)
fuzz: $(FUZZ_BIN)
# Keep the instrumented library objects between runs (make would delete them as intermediates
# and rebuild all of them for every harness change).
.SECONDARY: $(FUZZ_OBJ)
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  CC [fuzz] $<";)$(FUZZ_CC) $(FUZZ_COMMON) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  FUZZ $@";)$(FUZZ_CC) $(FUZZ_COMMON) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) $(LIBS)

fuzz-smoke: fuzz
	@sh scripts/fuzz-smoke.sh $(BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(BUILD)/bench_connect: bench/bench_connect.c $(BUILD)/libtether.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtether.a $(LIBS) -lpthread

$(BUILD)/bench_snp: bench/bench_snp.c $(BUILD)/libtether.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtether.a $(LIBS) -lpthread

$(BUILD)/bench_dcap: bench/bench_dcap.c $(BUILD)/libtether.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtether.a $(LIBS) -lpthread
