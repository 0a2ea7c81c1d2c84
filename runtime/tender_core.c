/* tender_core.c — what hvt and spt share: the image, boot info, the devices' set-up and
 * release, and the hypercall dispatch to the device that serves each number
 * (tender_devices.c lists the devices; tender_int.h says what a device is). */
#include "tender_int.h"

#include "common/crc32c.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the image ---- */

void tender_image_free(struct tender_image *img)
{
    if (img == NULL)
        return;
    if (img->mapped)
        munmap(img->buf, img->len);
    else
        free(img->buf);
    if (img->mapped && img->fd >= 0) /* a zeroed image has neither */
        close(img->fd);
    img->fd = -1;
    img->buf = NULL;
    img->mapped = 0;
}

/* Maps the file PATH (at most MAX bytes) read-only: *OUT of *LEN bytes, or a malloc'd byte
 * for an empty file (*MAPPED 0); *FD the file, kept open while mapped (else -1). Mapped, not
 * read: an internal PDP's image carries its rules (tens of MB at a million), which are mapped
 * into the guest in turn, never read by the tender. Images are written under another name
 * and renamed into place (builder/), never truncated, and removed (orch's collection) only by
 * name: a mapped page cannot vanish under the reader or the guest. */
static int tender_map_file(const char *path, size_t max, uint8_t **out, size_t *len, int *mapped,
                           int *fdp, struct engine_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return engine_diag_add(d, path, 0, 0, "cannot open: %s", strerror(errno)), -errno;
    struct stat st;
    int rc = 0;
    *out = NULL;
    *len = 0;
    *mapped = 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = engine_diag_add(d, path, 0, 0, "not a regular file");
    } else if ((uint64_t)st.st_size > max) {
        engine_diag_add(d, path, 0, 0,
                        "is %lld bytes; at most %zu are accepted (an image is loaded into guest "
                        "memory, which is at most %llu MiB)",
                        (long long)st.st_size, max, UNISEC_MEM_MAX >> 20);
        rc = -EFBIG;
    } else if (st.st_size == 0) {
        rc = (*out = malloc(1)) ? 0 : -ENOMEM;
    } else {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = -errno;
            engine_diag_add(d, path, 0, 0, "cannot map: %s", strerror(-rc));
        } else {
            *out = p;
            *len = (size_t)st.st_size;
            *mapped = 1;
            *fdp = fd;
            return 0;
        }
    }
    close(fd);
    return rc;
}

/* Checks one device of the manifest: known type, non-empty [a-z0-9_-] name, unique. */
static int tender_device_check(const struct unisec_manifest *m, int i, const char *path,
                               struct engine_diag *d)
{
    const struct unisec_device *dev = &m->dev[i];
    if (dev->type > UNISEC_DEV_TLS || dev->reserved != 0)
        return engine_diag_add(d, path, 0, 0, "manifest device %d has unknown type %u", i,
                               dev->type);
    size_t n = strnlen(dev->name, sizeof(dev->name));
    if (n == 0 || n == sizeof(dev->name))
        return engine_diag_add(d, path, 0, 0, "manifest device %d: the name must be 1 to %d bytes",
                               i, UNISEC_DEVICE_NAME_MAX - 1);
    for (size_t k = 0; k < n; k++) {
        char c = dev->name[k];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return engine_diag_add(d, path, 0, 0,
                                   "manifest device %d: the name may hold only a-z 0-9 _ -", i);
    }
    for (int j = 0; j < i; j++) {
        if (strcmp(m->dev[j].name, dev->name) == 0)
            return engine_diag_add(d, path, 0, 0, "manifest declares device '%s' twice", dev->name);
        if (dev->type == UNISEC_DEV_TLS && m->dev[j].type == UNISEC_DEV_TLS)
            return engine_diag_add(d, path, 0, 0, "manifest declares two TLS devices");
    }
    return 0;
}

/* Reads the notes in BUF[off, off + size): the target and the manifest. */
static int tender_image_notes(struct tender_image *img, uint64_t off, uint64_t size,
                              int *have_target, int *have_manifest, const char *path,
                              struct engine_diag *d)
{
    while (size >= 12) {
        uint32_t hdr[3];
        memcpy(hdr, img->buf + off, sizeof(hdr));
        uint64_t namesz = (hdr[0] + 3ull) & ~3ull, descsz = (hdr[1] + 3ull) & ~3ull;
        if (12 + namesz + descsz > size)
            return engine_diag_add(d, path, 0, 0, "a note runs past its segment");
        const uint8_t *name = img->buf + off + 12, *desc = name + namesz;
        if (hdr[0] == sizeof(UNISEC_NOTE_NAME) && memcmp(name, UNISEC_NOTE_NAME, hdr[0]) == 0) {
            if (hdr[2] == UNISEC_NOTE_TARGET && hdr[1] == sizeof(struct unisec_target)) {
                struct unisec_target tg;
                memcpy(&tg, desc, sizeof(tg));
                if (tg.abi_version != UNISEC_ABI_VERSION)
                    return engine_diag_add(d, path, 0, 0,
                                           "image is built for ABI version %u; this tender "
                                           "speaks version %u: rebuild it",
                                           tg.abi_version, UNISEC_ABI_VERSION);
                if (tg.target != UNISEC_TARGET_HVT && tg.target != UNISEC_TARGET_SPT)
                    return engine_diag_add(d, path, 0, 0, "unknown target %u", tg.target);
                if ((*have_target)++)
                    return engine_diag_add(d, path, 0, 0, "image has two target notes");
                img->target = tg.target;
            } else if (hdr[2] == UNISEC_NOTE_MANIFEST && hdr[1] == sizeof(struct unisec_manifest)) {
                if ((*have_manifest)++)
                    return engine_diag_add(d, path, 0, 0,
                                           "image has two manifests (UNISEC_MANIFEST twice)");
                memcpy(&img->manifest, desc, sizeof(img->manifest));
                if (img->manifest.abi_version != UNISEC_ABI_VERSION)
                    return engine_diag_add(d, path, 0, 0, "manifest has ABI version %u, not %u",
                                           img->manifest.abi_version, UNISEC_ABI_VERSION);
                int end = 0;
                for (int i = 0; i < UNISEC_MANIFEST_MAX; i++) {
                    if (img->manifest.dev[i].type == UNISEC_DEV_END) {
                        end = 1;
                        continue;
                    }
                    if (end)
                        return engine_diag_add(d, path, 0, 0,
                                               "manifest device %d follows the end of the list", i);
                    if (tender_device_check(&img->manifest, i, path, d) < 0)
                        return -EINVAL;
                }
            } else {
                return engine_diag_add(d, path, 0, 0, "unknown UNISEC note type %u (size %u)",
                                       hdr[2], hdr[1]);
            }
        }
        off += 12 + namesz + descsz;
        size -= 12 + namesz + descsz;
    }
    return 0;
}

static int tender_image_check(struct tender_image *img, uint8_t *buf, size_t len, int mapped,
                              const char *path, struct engine_diag *d);

int tender_image_open(struct tender_image *img, const char *path, struct engine_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int mapped, fd = -1;
    memset(img, 0, sizeof(*img));
    img->fd = -1;
    int rc = tender_map_file(path, TENDER_IMAGE_MAX, &buf, &len, &mapped, &fd, d);
    if (rc < 0)
        return rc;
    rc = tender_image_check(img, buf, len, mapped, path, d);
    if (rc < 0 && fd >= 0)
        close(fd);
    else
        img->fd = fd;
    return rc;
}

int tender_image_parse(struct tender_image *img, uint8_t *buf, size_t len, const char *path,
                       struct engine_diag *d)
{
    return tender_image_check(img, buf, len, 0, path, d);
}

static int tender_image_check(struct tender_image *img, uint8_t *buf, size_t len, int mapped,
                              const char *path, struct engine_diag *d)
{
    int rc = 0;
    memset(img, 0, sizeof(*img));
    img->fd = -1;
    img->buf = buf;
    img->len = len;
    img->mapped = mapped;
    Elf64_Ehdr eh;
    if (img->len < sizeof(eh) || memcmp(img->buf, ELFMAG, SELFMAG) != 0) {
        rc = engine_diag_add(d, path, 0, 0, "not an ELF file");
        goto fail;
    }
    memcpy(&eh, img->buf, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC) {
        rc = engine_diag_add(d, path, 0, 0,
                             "not a static x86_64 ELF executable (a unisec "
                             "image is linked with guest/libos/unisec.ld)");
        goto fail;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
        eh.e_phoff > img->len ||
        img->len - eh.e_phoff < (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)) {
        rc = engine_diag_add(d, path, 0, 0, "program headers are missing or out of the file");
        goto fail;
    }
    int have_target = 0, have_manifest = 0, entry_ok = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, img->buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
            continue;
        if (ph.p_offset > img->len || img->len - ph.p_offset < ph.p_filesz) {
            rc = engine_diag_add(d, path, 0, 0, "segment %u lies outside the file", i);
            goto fail;
        }
        if (ph.p_type == PT_NOTE) {
            rc = tender_image_notes(img, ph.p_offset, ph.p_filesz, &have_target, &have_manifest,
                                    path, d);
            if (rc < 0)
                goto fail;
            continue;
        }
        if (ph.p_filesz > ph.p_memsz || ph.p_vaddr < UNISEC_IMAGE_BASE ||
            ph.p_vaddr >= UNISEC_MEM_MAX || UNISEC_MEM_MAX - ph.p_vaddr < ph.p_memsz ||
            ph.p_vaddr % 4096 != 0) {
            rc = engine_diag_add(d, path, 0, 0,
                                 "segment %u at 0x%llx (+0x%llx) is not a page-aligned range "
                                 "inside guest memory",
                                 i, (unsigned long long)ph.p_vaddr, (unsigned long long)ph.p_memsz);
            goto fail;
        }
        if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_vaddr && eh.e_entry < ph.p_vaddr + ph.p_memsz)
            entry_ok = 1;
        if (ph.p_vaddr + ph.p_memsz > img->end)
            img->end = ph.p_vaddr + ph.p_memsz;
    }
    if (!entry_ok) {
        rc = engine_diag_add(d, path, 0, 0, "the entry point is not in an executable segment");
        goto fail;
    }
    if (!have_target || !have_manifest) {
        rc = engine_diag_add(d, path, 0, 0,
                             "image has no %s note: link it with hvt_bind.o or spt_bind.o and "
                             "declare UNISEC_MANIFEST(...)",
                             have_target ? "manifest" : "target");
        goto fail;
    }
    img->entry = eh.e_entry;
    return 0;
fail:
    tender_image_free(img);
    return rc < 0 ? rc : -EINVAL;
}

#define TENDER_SUM_CHUNK (256u * 1024) /* summed while in cache, just after its copy */

/* Copies N bytes of the image's last segment FROM into guest memory TO and, when they start
 * with a rules header (contract/abi.h), sums the region's bytes as written there: 1 when they
 * have the header's CRC-32C. The header is read once and that copy written, so that what the
 * guest reads is what was summed, whatever the file does meanwhile. */
static int tender_copy_rules(uint8_t *to, const uint8_t *from, size_t n)
{
    struct unisec_rules h;
    if (n < sizeof(h)) {
        memcpy(to, from, n);
        return 0;
    }
    memcpy(&h, from, sizeof(h));
    memcpy(to, &h, sizeof(h));
    size_t at = sizeof(h), end = at;
    if (memcmp(h.magic, UNISEC_RULES_MAGIC, 8) == 0 && h.len > 0 && h.len <= n - sizeof(h))
        end += (size_t)h.len; /* else nothing to sum: the guest says what is wrong */
    uint32_t crc = 0;
    while (at < end) {
        size_t k = end - at < TENDER_SUM_CHUNK ? end - at : TENDER_SUM_CHUNK;
        memcpy(to + at, from + at, k);
        crc = engine_crc32c_more(crc, to + at, k);
        at += k;
    }
    memcpy(to + at, from + at, n - at);
    return end > sizeof(h) && crc == h.crc32c;
}

int tender_image_load(const struct tender_image *img, uint8_t *mem, uint64_t mem_lo,
                      uint64_t mem_hi, int map, struct engine_diag *d)
{
    Elf64_Ehdr eh;
    memcpy(&eh, img->buf, sizeof(eh));
    uint64_t last = 0; /* the rules region starts the last segment in memory (contract/abi.h) */
    int flags = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, img->buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD && ph.p_vaddr >= last)
            last = ph.p_vaddr;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, img->buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        /* tender_image_open bounded both ranges; only the memory size is new here. */
        if (ph.p_vaddr < mem_lo || ph.p_vaddr + ph.p_memsz > mem_hi)
            return engine_diag_add(d, NULL, 0, 0,
                                   "the image does not fit in guest memory: its segment %u ends "
                                   "at %llu MiB, the guest has %llu MiB (give more with --mem)",
                                   i,
                                   (unsigned long long)((ph.p_vaddr + ph.p_memsz + 0xfffff) >> 20),
                                   (unsigned long long)(mem_hi >> 20)),
                   -ENOMEM;
        uint8_t *to = mem + (ph.p_vaddr - mem_lo);
        size_t whole = 0;
        if (map && img->fd >= 0 && !(ph.p_flags & (PF_W | PF_X)) && ph.p_filesz >= TENDER_MAP_MIN &&
            ph.p_offset % 4096 == 0) {
            whole = ph.p_filesz & ~(size_t)4095; /* the tail, with what follows it, is copied */
            if (mmap(to, whole, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, img->fd,
                     (off_t)ph.p_offset) == MAP_FAILED)
                return engine_diag_add(d, NULL, 0, 0, "cannot map segment %u: %s", i,
                                       strerror(errno)),
                       -errno;
        }
        if (whole == 0 && ph.p_vaddr == last && !(ph.p_flags & (PF_W | PF_X)))
            flags |= tender_copy_rules(to, img->buf + ph.p_offset, ph.p_filesz)
                         ? (int)UNISEC_BOOT_RULES_SUMMED
                         : 0;
        else
            memcpy(to + whole, img->buf + ph.p_offset + whole, ph.p_filesz - whole);
    }
    return flags;
}

/* ---- boot info ---- */

uint64_t tender_boot_info(struct tender *t, uint64_t spt_hypercall, uint64_t *stack_top,
                          struct engine_diag *d)
{
    /* The heap ends a stack and two pages below the top of memory. The command line and the
     * boot info sit at the very top and the stack starts just below them, so the guest's
     * first stack frames, its boot info and a short command line share one page: on hvt each
     * page the guest touches first costs a fault. */
    uint64_t heap_end = t->mem_hi - UNISEC_STACK_SIZE - 2 * 4096;
    uint64_t heap = (t->img.end + 4095) & ~4095ull;
    if (heap + 4096 > heap_end) {
        engine_diag_add(d, t->cfg.image, 0, 0,
                        "the image (%llu KiB) leaves no heap in %llu MiB of guest memory: give "
                        "more with --mem",
                        (unsigned long long)(t->img.end >> 10),
                        (unsigned long long)(t->mem_hi >> 20));
        return 0;
    }
    const char *cmdline = t->cfg.cmdline ? t->cfg.cmdline : "";
    size_t n = strlen(cmdline);
    if (n >= UNISEC_CMDLINE_MAX) {
        engine_diag_add(d, NULL, 0, 0, "boot arguments are %zu bytes; at most %d are allowed", n,
                        UNISEC_CMDLINE_MAX - 1);
        return 0;
    }
    uint64_t cmd = (t->mem_hi - (n + 1)) & ~15ull;
    uint64_t boot = (cmd - sizeof(struct unisec_boot_info)) & ~15ull;
    /* The mailbox's cache line, shared by the guest and a tender thread, holds nothing else. */
    uint64_t mailbox = (boot - 64) & ~63ull;
    struct unisec_boot_info bi = {
        .magic = UNISEC_BOOT_MAGIC,
        .abi_version = UNISEC_ABI_VERSION,
        .mem_lo = t->mem_lo,
        .mem_hi = t->mem_hi,
        .heap_start = heap,
        .heap_end = heap_end,
        .cmdline = cmd,
        .spt_hypercall = spt_hypercall,
        .flags = t->boot_flags,
    };
    /* This instance's own seed (abi.h, "Secrets"): read now, for this guest alone. */
    if (getrandom(bi.seed, sizeof(bi.seed), 0) != (ssize_t)sizeof(bi.seed)) {
        engine_diag_add(d, NULL, 0, 0, "getrandom: %s", strerror(errno));
        return 0;
    }
    memcpy(tender_guest_ptr(t, boot, sizeof(bi)), &bi, sizeof(bi));
    explicit_bzero(bi.seed, sizeof(bi.seed));
    memcpy(tender_guest_ptr(t, cmd, n + 1), cmdline, n + 1);
    *stack_top = mailbox;
    t->boot_info = boot;
    t->mailbox = mailbox;
    return boot;
}

void tender_boot_start(struct tender *t, const uint32_t cpu[3])
{
    struct unisec_boot_info *bi = tender_guest_ptr(t, t->boot_info, sizeof(*bi));
    bi->cpuid1_ecx = cpu[0];
    bi->cpuid1_edx = cpu[1];
    bi->cpuid7_ebx = cpu[2];
    bi->monotonic_ns = tender_now(CLOCK_MONOTONIC);
    bi->wall_ns = tender_now(CLOCK_REALTIME);
}

/* ---- finishing ---- */

int tender_finish(struct tender *t, int how)
{
    if (how == TENDER_KILL)
        fprintf(stderr, "%s: guest killed: %s\n", t->name, t->why);
    return t->status;
}

/* ---- the hypercalls ---- */

int tender_hypercall(struct tender *t, uint32_t nr, uint64_t arg)
{
    /* The tender's copy of the argument struct: the guest's is never read twice. */
    union {
        max_align_t align;
        uint8_t bytes[TENDER_HC_ARG_MAX];
    } a;
    const struct tender_devs *all = &tender_devices;
    const struct tender_hc *hc = NULL;
    t->hypercalls++;
    for (uint32_t i = 0; nr < UNISEC_HC_COUNT && i < all->n && hc == NULL; i++)
        if (all->dev[i]->hc[nr].fn)
            hc = &all->dev[i]->hc[nr];
    if (hc == NULL)
        return tender_kill(t, "unknown hypercall %u", nr);
    void *p = tender_guest_ptr(t, arg, hc->size);
    if (p == NULL)
        return tender_kill(t, "hypercall %s: argument 0x%llx+%zu lies outside guest memory",
                           hc->name, (unsigned long long)arg, hc->size);
    memcpy(&a, p, hc->size);
    int how = hc->fn(t, &a, all);
    if (how == TENDER_CONTINUE)
        memcpy(p, &a, hc->size);
    return how;
}

/* ---- set-up ---- */

/* Releases devices [0, N) (those whose set-up began), in the reverse order, then the event
 * set and the image. */
static void tender_fini_upto(struct tender *t, uint32_t n)
{
    while (n-- > 0)
        if (tender_devices.dev[n]->fini)
            tender_devices.dev[n]->fini(t);
    if (t->epfd >= 0)
        close(t->epfd);
    t->epfd = -1;
    tender_image_free(&t->img);
}

int tender_init(struct tender *t, const struct tender_config *cfg, struct engine_diag *d)
{
    memset(t, 0, sizeof(*t));
    t->epfd = -1;
    t->cfg = *cfg;
    if (t->cfg.mem_size == 0)
        t->cfg.mem_size = UNISEC_MEM_DEFAULT;
    if (t->cfg.mem_size < UNISEC_MEM_MIN || t->cfg.mem_size > UNISEC_MEM_MAX)
        return engine_diag_add(d, NULL, 0, 0, "guest memory must be %llu to %llu MiB",
                               UNISEC_MEM_MIN >> 20, UNISEC_MEM_MAX >> 20);
    t->cfg.mem_size &= ~((2ull << 20) - 1); /* hvt maps it with 2 MiB pages */
    int rc = tender_image_open(&t->img, cfg->image, d);
    if (rc < 0)
        return rc;
    t->name = t->img.target == UNISEC_TARGET_HVT ? "hvt" : "spt";
    /* The one event set every device registers its descriptors in, and POLL waits on. */
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->epfd < 0) {
        rc = -errno;
        engine_diag_add(d, NULL, 0, 0, "epoll: %s", strerror(errno));
        tender_fini_upto(t, 0);
        return rc;
    }
    const struct tender_devs *all = &tender_devices;
    for (uint32_t i = 0; i < all->n; i++)
        if (all->dev[i]->init && (rc = all->dev[i]->init(t, i, d)) < 0) {
            tender_fini_upto(t, i + 1);
            return rc;
        }
    return 0;
}

void tender_fini(struct tender *t)
{
    tender_fini_upto(t, tender_devices.n);
}
