/* builder_rules.c — an image from linked code and rules, without the compiler or the linker:
 * the rules region (contract/abi.h) appended to the code's file and its segment and section
 * pointed at it, the rules summed as they are written. The code's bytes stay as they are but
 * for those two headers. */
#include "builder_int.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "contract/abi.h"
#include "contract/acl_blob.h"
#include "contract/acl_patch.h"

#define BUILDER_PAGE        4096u
#define BUILDER_RULES_ALIGN 16u /* a region under a page: the header's and the blob's alignment */

/* The rules region of CODE[0..LEN): its program header's and section header's offsets in
 * CODE. 0, or -1 with *WHY. */
static int builder_rules_find(const uint8_t *code, size_t len, size_t *ph_at, size_t *sh_at,
                              const char **why)
{
    Elf64_Ehdr eh;
    Elf64_Shdr str;

    *why = "not a static x86_64 ELF executable";
    if (len < sizeof(eh) || memcmp(code, ELFMAG, SELFMAG) != 0)
        return -1;
    memcpy(&eh, code, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC)
        return -1;
    *why = "its program or section headers lie outside the file";
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_shentsize != sizeof(Elf64_Shdr) ||
        eh.e_phnum == 0 || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum || eh.e_phoff > len ||
        (len - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum || eh.e_shoff > len ||
        (len - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum)
        return -1;
    memcpy(&str, code + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof(str), sizeof(str));
    if (str.sh_offset > len || len - str.sh_offset < str.sh_size)
        return -1;
    const char *names = (const char *)code + str.sh_offset;
    const size_t want = sizeof(UNISEC_RULES_SECTION);
    Elf64_Shdr sh;
    size_t i;
    for (i = 0; i < eh.e_shnum; i++) {
        memcpy(&sh, code + eh.e_shoff + i * sizeof(sh), sizeof(sh));
        if (sh.sh_name < str.sh_size && str.sh_size - sh.sh_name >= want &&
            memcmp(names + sh.sh_name, UNISEC_RULES_SECTION, want) == 0)
            break;
    }
    *why = "it has no section " UNISEC_RULES_SECTION " (linked with an older unisec.ld?)";
    if (i == eh.e_shnum)
        return -1;
    *sh_at = eh.e_shoff + i * sizeof(sh);
    *why = "its rules region is not the empty header of linked code";
    struct unisec_rules hdr;
    if (sh.sh_size != sizeof(hdr) || sh.sh_offset > len || len - sh.sh_offset < sizeof(hdr))
        return -1;
    memcpy(&hdr, code + sh.sh_offset, sizeof(hdr));
    if (memcmp(hdr.magic, UNISEC_RULES_MAGIC, 8) != 0 || hdr.len != 0)
        return -1;
    /* Its segment: the one at its address, which must be the last in memory (the heap
     * follows the image's last segment: abi.h). */
    uint64_t top = 0;
    *ph_at = 0;
    for (i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, code + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        if (ph.p_vaddr == sh.sh_addr && ph.p_offset == sh.sh_offset && ph.p_filesz == sizeof(hdr) &&
            ph.p_memsz == sizeof(hdr) && !(ph.p_flags & PF_W))
            *ph_at = eh.e_phoff + i * sizeof(ph);
        else if (ph.p_vaddr + ph.p_memsz > top)
            top = ph.p_vaddr + ph.p_memsz;
    }
    *why = "its rules region is not a read-only segment of its own, last in memory";
    if (*ph_at == 0 || sh.sh_addr % BUILDER_PAGE != 0 || sh.sh_addr < top)
        return -1;
    return 0;
}

int builder_rules_check(const void *code, size_t len, const char **why)
{
    size_t ph_at, sh_at;
    return builder_rules_find(code, len, &ph_at, &sh_at, why);
}

int builder_rules_head(const void *code, size_t len, size_t rules_len, void **head,
                       size_t *head_len, const char **why)
{
    size_t ph_at, sh_at, at;
    struct unisec_rules hdr = {UNISEC_RULES_MAGIC, rules_len, 0, 0};
    Elf64_Phdr ph;
    Elf64_Shdr sh;
    uint8_t *out;

    *head = NULL;
    if (builder_rules_find(code, len, &ph_at, &sh_at, why) < 0)
        return -1;
    /* A region of a page or more starts on a page of the file, where a tender maps it from the
     * file rather than copy it (runtime/README.md); a smaller one is copied whatever its
     * offset, so it follows the code at the next 16 bytes: a small policy's image grows with
     * its code byte by byte, not by pages. The segment's offset and address agree modulo its
     * alignment either way, as a loader expects. */
    size_t align = sizeof(hdr) + rules_len >= BUILDER_PAGE ? BUILDER_PAGE : BUILDER_RULES_ALIGN;
    at = (len + align - 1) / align * align;
    if ((out = calloc(1, at + sizeof(hdr))) == NULL) {
        *why = "out of memory";
        return -1;
    }
    memcpy(out, code, len);
    memcpy(out + at, &hdr, sizeof(hdr));
    memcpy(&ph, out + ph_at, sizeof(ph));
    ph.p_offset = at;
    ph.p_filesz = ph.p_memsz = sizeof(hdr) + rules_len;
    ph.p_align = align;
    memcpy(out + ph_at, &ph, sizeof(ph));
    memcpy(&sh, out + sh_at, sizeof(sh));
    sh.sh_offset = at;
    sh.sh_size = sizeof(hdr) + rules_len;
    memcpy(out + sh_at, &sh, sizeof(sh));
    *head = out;
    *head_len = at + sizeof(hdr);
    return 0;
}

void builder_rules_seal(void *head, size_t head_len, uint32_t crc)
{
    struct unisec_rules hdr;
    uint8_t *at = (uint8_t *)head + head_len - sizeof(hdr);

    memcpy(&hdr, at, sizeof(hdr));
    hdr.crc32c = crc; /* what the guest checks them by */
    memcpy(at, &hdr, sizeof(hdr));
}

/* Pieces of the rules summed and written in turn: small enough to stay in the cache. */
#define BUILDER_RULES_PIECE (256u * 1024)

struct builder_rules_fill {
    void *head;
    size_t head_len;
    const struct builder_piece *v;
    size_t n;
};

static int builder_rules_fill(int fd, void *arg)
{
    const struct builder_rules_fill *f = arg;
    uint32_t crc = 0;
    size_t off = f->head_len;
    int e;

    for (size_t i = 0; i < f->n; off += f->v[i++].len) {
        const uint8_t *p = f->v[i].data;
        for (size_t at = 0; at < f->v[i].len; at += BUILDER_RULES_PIECE) {
            size_t n =
                f->v[i].len - at < BUILDER_RULES_PIECE ? f->v[i].len - at : BUILDER_RULES_PIECE;
            crc = engine_crc32c_more(crc, p + at, n);
            if ((e = builder_pwrite_all(fd, p + at, n, off + at)) < 0)
                return e;
        }
    }
    builder_rules_seal(f->head, f->head_len, crc);
    return builder_pwrite_all(fd, f->head, f->head_len, 0);
}

int builder_rules_write(const char *path, void *head, size_t head_len,
                        const struct builder_piece *v, size_t n)
{
    struct builder_rules_fill f = {head, head_len, v, n};
    return builder_write_atomic_fill(path, builder_rules_fill, &f);
}

size_t builder_rules_pieces(const struct builder_spec *s, struct builder_piece v[3])
{
    static const uint8_t zeros[ENGINE_ACL_BLOB_ALIGN];
    size_t pad =
        (ENGINE_ACL_BLOB_ALIGN - s->acl_len % ENGINE_ACL_BLOB_ALIGN) % ENGINE_ACL_BLOB_ALIGN;

    v[0] = (struct builder_piece){s->acl_blob, s->acl_len};
    if (s->acl_patch == NULL)
        return 1;
    v[1] = (struct builder_piece){zeros, pad};
    v[2] = (struct builder_piece){s->acl_patch, s->acl_patch_len};
    return 3;
}

int builder_patch_head_check(const struct builder_spec *s, const char **why)
{
    const struct engine_acl_patch_header *p = s->acl_patch;
    const struct engine_acl_blob_header *h = s->acl_blob;

    *why = "not an ACL patch (its header)";
    if (s->acl_patch_len < sizeof(*p) || ((uintptr_t)p & (ENGINE_ACL_BLOB_ALIGN - 1)) != 0 ||
        memcmp(p->magic, ENGINE_ACL_PATCH_MAGIC, 8) != 0 || p->format != ENGINE_ACL_PATCH_FORMAT ||
        p->header_size != sizeof(*p) || p->total_size != s->acl_patch_len)
        return -1;
    *why = "the patch is over another blob than the rules given";
    return p->base_version == h->policy_version &&
                   memcmp(p->base_sha256, h->sha256, sizeof(h->sha256)) == 0
               ? 0
               : -1;
}

int builder_blob_head_check(const void *blob, size_t len, const char **why)
{
    const struct engine_acl_blob_header *h = blob;
    *why = "not a compiled ACL blob (its header)";
    if (len < sizeof(*h) || ((uintptr_t)blob & (ENGINE_ACL_BLOB_ALIGN - 1)) != 0 ||
        memcmp(h->magic, ENGINE_ACL_BLOB_MAGIC, 8) != 0 || h->format != ENGINE_ACL_BLOB_FORMAT ||
        h->header_size != sizeof(*h))
        return -1;
    *why = "the blob's recorded size differs from its length";
    return h->total_size == len ? 0 : -1;
}
