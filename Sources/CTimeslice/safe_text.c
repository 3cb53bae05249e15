// Which code the SIGURG handler may interrupt, independent of how the program is
// linked. Rules and protocol: include/ts_preempt.h ("Safe text").
//
// A dynamically linked program keeps the Swift runtime, the standard library,
// Foundation, Dispatch and ICU in shared objects: their text is foreign by
// address. `--static-swift-stdlib` puts all of them inside the main executable, so
// "in the main executable's text" no longer means "user code". At install time this
// file reads the executable's own ELF symbol table (/proc/self/exe, .symtab, else
// .dynsym) and builds a sorted array of *excluded* address ranges: the function
// symbols whose names belong to the runtime, the standard library, Foundation,
// Dispatch, CoreFoundation, ICU or BlocksRuntime (ts_symbol_name_is_foreign), plus
// the unnamed-looking local C/C++ helpers (static functions) of any object file
// that lie inside a run of such symbols (see build_excluded). The handler asks
// ts_pc_is_async_safe: main-executable text and not excluded, by binary search
// over read-only arrays (async-signal-safe, no allocation, no lock).
#define _GNU_SOURCE
#include "ts_preempt.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { uintptr_t lo, hi; } ts_range;

// Written once by ts_safe_text_build (before the handler is installed); read-only after.
#define MAX_MAIN_RANGES 32
static ts_range main_ranges[MAX_MAIN_RANGES];      // executable PT_LOAD segments of the program
static int main_range_count;
#define MAX_SHARED_RANGES 256
static ts_range shared_ranges[MAX_SHARED_RANGES];  // executable segments of every shared object
static int shared_range_count;
static ts_range *excluded_ranges;                  // sorted, disjoint, merged
static size_t excluded_range_count;
static int symtab_status = TS_SYMTAB_NOT_READ;
static uintptr_t main_bias;

// Swift modules whose code is foreign wherever it is linked: the runtime's and
// the toolchain's libraries. Mangled as $s<len><name>.
static const char *const foreign_modules[] = {
    "Foundation", "FoundationEssentials", "FoundationInternationalization",
    "FoundationNetworking", "FoundationXML", "_FoundationCShims", "_FoundationCollections",
    "_FoundationICU", "_FoundationUnicode", "CoreFoundation", "Dispatch", "_Concurrency",
    "Synchronization", "_StringProcessing", "_RegexParser", "RegexBuilder", "Observation",
    "Distributed", "_Differentiation", "Glibc", "SwiftGlibc", "Cxx", "CxxStdlib",
    "SwiftOnoneSupport", "_Volatile", "_Backtracing", "Runtime", "XCTest",
};

// C and C++ prefixes: the Swift runtime (C entry points and namespace swift),
// Dispatch, BlocksRuntime, CoreFoundation, ICU (renamed C API "u*_", C++ namespace
// icu / icu_NN), and the C++ runtime's own helpers linked into the runtime.
static const char *const foreign_prefixes[] = {
    "swift_", "_swift_", "_ZN5swift", "_ZNK5swift",   // not __swift_: IRGen emits those into every module
    "_dispatch_", "dispatch_", "_os_object", "_os_", "_Block_", "Block_",
    "CF", "_CF", "__CF", "kCF", "_NS", "__NS",
    "icu_", "_ZN3icu", "_ZNK3icu", "_ZN6icu_", "_ZNK6icu_", "_ZN7icu_", "_ZNK7icu_",
    "u_", "uprv_", "ucol_", "uloc_", "ures_", "udata_", "ucnv_", "ubrk_", "udat_", "unum_",
    "ucal_", "umtx_", "ucase_", "uchar_", "ustr_", "uset_", "uscript_", "unorm", "ubidi",
    "uenum_", "uhash_", "ulist_", "utrie", "utext_", "uregex_", "usearch_", "utrans_",
    "ucurr_", "udtitvfmt_", "uplrules_", "ufmt_", "ucptrie_", "umutablecptrie_", "ulocdata_",
    "ztrans_", "vzone_", "ucln_", "uiter_", "ucasemap_", "usprep_", "uidna_", "uspoof_",
};

// once_interpose.c's definition (the executable's, whichever way the runtime is linked).
extern void swift_once(void *predicate, void (*body)(void *), void *context);

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

// Reads <len><identifier> at *s (Swift mangling); returns the length or -1.
static int read_identifier(const char **s, const char **ident) {
    const char *p = *s;
    if (*p < '1' || *p > '9') return -1;
    int len = 0;
    while (*p >= '0' && *p <= '9') { len = len * 10 + (*p - '0'); p++; if (len > 4096) return -1; }
    if ((int)strnlen(p, (size_t)len) < len) return -1;
    *ident = p;
    *s = p + len;
    return len;
}

static int module_is_foreign(const char *name, int len) {
    for (size_t i = 0; i < sizeof foreign_modules / sizeof foreign_modules[0]; i++) {
        if ((int)strlen(foreign_modules[i]) == len && memcmp(foreign_modules[i], name, (size_t)len) == 0) return 1;
    }
    return 0;
}

// A generic specialization or function-signature specialization emitted into the
// module that asked for it (user code specialises Array.append into its own object):
// it was in the main executable with a dynamically linked stdlib too.
static int is_specialization(const char *name) {
    return strstr(name, "Tg5") || strstr(name, "TG5") || strstr(name, "Tgq5") || strstr(name, "TGq5") ||
           strstr(name, "Tgm5") || strstr(name, "TGm5") || strstr(name, "Tf4") || strstr(name, "Tf0");
}

// After $sS<x><len><ident> or $ss<len><T><kind><len><ident>: whether <ident> is the
// module of an extension (followed by E, or by a generic signature ending in rlE) or
// of a conformance (the witness-table family, a W suffix), rather than a member name
// of the standard type ($sSS5countSivg).
static int module_is_context(const char *name, const char *rest) {
    static const char *const conformance_suffixes[] = {"WP", "Wp", "WI", "Wa", "WL", "Wl", "WT", "WG", "Wr", "WB", "Wb"};
    size_t n = strlen(name);
    if (*rest == 'E' || strstr(rest, "rlE")) return 1;
    for (size_t i = 0; n >= 2 && i < sizeof conformance_suffixes / sizeof conformance_suffixes[0]; i++) {
        if (memcmp(name + n - 2, conformance_suffixes[i], 2) == 0) return 1;
    }
    return 0;
}

enum { NAME_NEUTRAL = 0, NAME_FOREIGN = 1, NAME_USER = 2 };

static int by_module(const char *ident, int len) { return module_is_foreign(ident, len) ? NAME_FOREIGN : NAME_USER; }

// NAME_FOREIGN: the runtime's, stdlib's, Foundation's, Dispatch's, CF's, ICU's...;
// NAME_USER: a Swift symbol of another module; NAME_NEUTRAL: says nothing (C names,
// specializations, thunks), decided by its neighbours (build_excluded).
static int classify_name(const char *name) {
    if (!name || !*name) return NAME_NEUTRAL;
    if (name[0] == '$' && name[1] == 's') {
        const char *p = name + 2;
        if (is_specialization(name)) return NAME_NEUTRAL;
        const char *ident;
        if (p[0] == 's') {
            // $ss<len><Type><kind>: the Swift module's own, unless followed by
            // <len><module> of an extension or conformance declared in that module.
            const char *q = p + 1;
            if (read_identifier(&q, &ident) > 0 && *q && strchr("VCOP", *q)) {
                q++;
                int len = read_identifier(&q, &ident);
                if (len > 0 && module_is_context(name, q)) return by_module(ident, len);
            }
            return NAME_FOREIGN;
        }
        if (p[0] == 'S' && p[1] != 0) {
            // $sS<x>: a standard type (SS String, Sa Array, Sc... _Concurrency) or, for
            // So/SC, an imported C type; then an extension's or conformance's module.
            const char *q = p + 2;
            int len = read_identifier(&q, &ident);
            if (len > 0 && module_is_foreign(ident, len)) return NAME_FOREIGN;
            if (len > 0 && module_is_context(name, q)) return NAME_USER;
            return (p[1] == 'o' || p[1] == 'C') ? NAME_NEUTRAL : NAME_FOREIGN;
        }
        int len = read_identifier(&p, &ident);
        return len > 0 ? by_module(ident, len) : NAME_NEUTRAL;
    }
    for (size_t i = 0; i < sizeof foreign_prefixes / sizeof foreign_prefixes[0]; i++) {
        if (has_prefix(name, foreign_prefixes[i])) return NAME_FOREIGN;
    }
    return NAME_NEUTRAL;
}

int ts_symbol_name_is_foreign(const char *name) { return classify_name(name) == NAME_FOREIGN; }

// cls: STRONG_* decide alone; WEAK (a foreign-named local: possibly a copy a user module
// emitted, @_alwaysEmitIntoClient / @inlinable / header inline C) and NEUTRAL follow their neighbours.
enum { STRONG_FOREIGN = 1, STRONG_USER = 2, WEAK = 3, NEUTRAL = 0 };
typedef struct { uintptr_t lo, hi; uint8_t cls, foreign; } sym_entry;

static int compare_entries(const void *a, const void *b) {
    const sym_entry *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

static int collect_objects(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    int *first = data;
    ts_range *out = *first ? main_ranges : shared_ranges;
    int *count = *first ? &main_range_count : &shared_range_count;
    int max = *first ? MAX_MAIN_RANGES : MAX_SHARED_RANGES;
    if (*first) main_bias = info->dlpi_addr;
    // Every shared object is foreign, the vDSO included: its own code is reentrant,
    // but its caller may hold a lock (ICU calls clock_gettime holding its mutex).
    for (int i = 0; i < info->dlpi_phnum && *count < max; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            out[*count].lo = info->dlpi_addr + ph->p_vaddr;
            out[*count].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
            (*count)++;
        }
    }
    *first = 0;
    return 0;
}

static int in_ranges(const ts_range *r, size_t n, uintptr_t a) {
    // Binary search: the last range whose lo <= a.
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].lo <= a) lo = mid + 1; else hi = mid;
    }
    return lo > 0 && a < r[lo - 1].hi;
}

static int in_small_ranges(const ts_range *r, int n, uintptr_t a) {
    for (int i = 0; i < n; i++) if (a >= r[i].lo && a < r[i].hi) return 1;
    return 0;
}

// Parses the executable's symbol table from `path` (mapped read-only) and builds
// excluded_ranges. Returns a TS_SYMTAB_* status.
static int build_excluded(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return TS_SYMTAB_UNREADABLE;
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(ElfW(Ehdr))) { close(fd); return TS_SYMTAB_UNREADABLE; }
    size_t size = (size_t)st.st_size;
    const unsigned char *file = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (file == MAP_FAILED) return TS_SYMTAB_UNREADABLE;
    int status = TS_SYMTAB_NONE;
    sym_entry *entries = NULL;
    const ElfW(Ehdr) *eh = (const void *)file;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > size) {
        status = TS_SYMTAB_UNREADABLE;
        goto done;
    }
    const ElfW(Shdr) *sh = (const void *)(file + eh->e_shoff);
    const ElfW(Shdr) *table = NULL;
    for (int i = 0; i < eh->e_shnum; i++) if (sh[i].sh_type == SHT_SYMTAB) table = &sh[i];
    if (!table) {
        for (int i = 0; i < eh->e_shnum; i++) if (sh[i].sh_type == SHT_DYNSYM) table = &sh[i];
        status = TS_SYMTAB_DYNSYM_ONLY;
    } else {
        status = TS_SYMTAB_FULL;
    }
    if (!table || table->sh_link >= eh->e_shnum || table->sh_offset + table->sh_size > size) {
        status = TS_SYMTAB_NONE;
        goto done;
    }
    const ElfW(Shdr) *strtab = &sh[table->sh_link];
    if (strtab->sh_offset + strtab->sh_size > size) { status = TS_SYMTAB_UNREADABLE; goto done; }
    const ElfW(Sym) *syms = (const void *)(file + table->sh_offset);
    size_t nsyms = table->sh_size / sizeof(ElfW(Sym));
    const char *names = (const char *)(file + strtab->sh_offset);
    entries = malloc((nsyms ? nsyms : 1) * sizeof *entries);
    if (!entries) { status = TS_SYMTAB_UNREADABLE; goto done; }
    size_t n = 0;
    for (size_t i = 0; i < nsyms; i++) {
        const ElfW(Sym) *s = &syms[i];
        int type = ELF64_ST_TYPE(s->st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_size == 0 || s->st_shndx == SHN_UNDEF ||
            s->st_shndx >= eh->e_shnum || !(sh[s->st_shndx].sh_flags & SHF_EXECINSTR) ||
            s->st_name >= strtab->sh_size) continue;
        const char *name = names + s->st_name;
        sym_entry *e = &entries[n++];
        e->lo = main_bias + s->st_value;
        e->hi = e->lo + s->st_size;
        int c = classify_name(name);
        // The runtime's own interposer (once_interpose.c) carries the Swift runtime's
        // name but is this project's code: it says nothing about its neighbours.
        if (e->lo == (uintptr_t)swift_once) c = NAME_NEUTRAL;
        int local = ELF64_ST_BIND(s->st_info) == STB_LOCAL;
        e->cls = c == NAME_USER ? STRONG_USER : c == NAME_FOREIGN ? (local ? WEAK : STRONG_FOREIGN) : NEUTRAL;
    }
    qsort(entries, n, sizeof *entries, compare_entries);
    // A linker lays each object's text out contiguously and archives after the user's
    // objects, so the runtime, Foundation and ICU form long runs. A NEUTRAL or WEAK
    // symbol is foreign when the nearest STRONG symbols on both sides are foreign (inside
    // a library's run: ICU's and CF's static helpers, Foundation's internal functions,
    // the runtime's anonymous-namespace C++); otherwise it is user code (a stdlib copy a
    // user module emitted into itself, the runtime's own C).
    // Static archives make most of their symbols local (hidden), so few are STRONG_FOREIGN
    // by binding: eight or more foreign-named locals in a row are a library's own text, not
    // a user module's few emitted copies.
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && entries[j].cls == WEAK) j++;
        if (j - i >= 8) for (size_t k = i; k < j; k++) entries[k].cls = STRONG_FOREIGN;
        i = j > i ? j : i + 1;
    }
    {
        uint8_t prev = NEUTRAL;
        for (size_t i = 0; i < n; i++) {
            if (entries[i].cls == STRONG_FOREIGN || entries[i].cls == STRONG_USER) prev = entries[i].cls;
            entries[i].foreign = prev;   // the nearest strong class at or before i
        }
        uint8_t next = NEUTRAL;
        for (size_t k = n; k-- > 0;) {
            sym_entry *e = &entries[k];
            uint8_t before = e->foreign;
            if (e->cls == STRONG_FOREIGN || e->cls == STRONG_USER) next = e->cls;
            if (e->cls == STRONG_FOREIGN) e->foreign = 1;
            else if (e->cls == STRONG_USER) e->foreign = 0;
            else e->foreign = before == STRONG_FOREIGN && next == STRONG_FOREIGN;
        }
    }
    // Merge runs of foreign symbols (and the padding between them) into ranges; any
    // symbol not foreign ends a run. Aliases at one address: foreign if any says so.
    ts_range *out = malloc((n ? n : 1) * sizeof *out);
    if (!out) { status = TS_SYMTAB_UNREADABLE; goto done; }
    size_t ranges = 0;
    int in_run = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int foreign = 0;
        uintptr_t hi = entries[i].hi;
        for (; j < n && entries[j].lo == entries[i].lo; j++) {
            foreign |= entries[j].foreign;
            if (entries[j].hi > hi) hi = entries[j].hi;
        }
        if (!foreign) {
            in_run = 0;
        } else if (in_run || (ranges > 0 && out[ranges - 1].hi > entries[i].lo)) {
            if (hi > out[ranges - 1].hi) out[ranges - 1].hi = hi;
            in_run = 1;
        } else {
            out[ranges].lo = entries[i].lo;
            out[ranges].hi = hi;
            ranges++;
            in_run = 1;
        }
        i = j;
    }
    excluded_ranges = out;
    excluded_range_count = ranges;
done:
    free(entries);
    munmap((void *)file, size);
    return status;
}

int ts_safe_text_build(void) {
    if (symtab_status != TS_SYMTAB_NOT_READ) return main_range_count > 0 ? 0 : ENOENT;
    int first = 1;
    dl_iterate_phdr(collect_objects, &first);
    symtab_status = build_excluded("/proc/self/exe");
    return main_range_count > 0 ? 0 : ENOENT;
}

int ts_pc_class(uintptr_t pc) {
    if (in_small_ranges(main_ranges, main_range_count, pc)) {
        return in_ranges(excluded_ranges, excluded_range_count, pc) ? TS_PC_EXCLUDED : TS_PC_SAFE;
    }
    return in_small_ranges(shared_ranges, shared_range_count, pc) ? TS_PC_SHARED : TS_PC_UNKNOWN;
}

int ts_pc_is_async_safe(uintptr_t pc) {
    return in_small_ranges(main_ranges, main_range_count, pc) &&
           !in_ranges(excluded_ranges, excluded_range_count, pc);
}

int ts_pc_is_foreign_code(uintptr_t pc) {
    int c = ts_pc_class(pc);
    return c == TS_PC_EXCLUDED || c == TS_PC_SHARED;
}

int ts_safe_range_count(void) { return main_range_count; }
size_t ts_excluded_range_count(void) { return excluded_range_count; }
int ts_symtab_status(void) { return symtab_status; }

// A function of the machine layer named like the Swift runtime's C entry points,
// never called: Tests check that the range builder, reading this very executable,
// classifies it as foreign (as it would libswiftCore's swift_* linked statically).
__attribute__((noinline, used, visibility("default"))) int swift_timeslice_selftest_probe(int x) {
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}
