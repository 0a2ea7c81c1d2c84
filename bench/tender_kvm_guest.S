/* tender_kvm_guest.S — guest code for bench/tender's exit-mechanism figures, copied into a
 * bare hvt vCPU (64-bit, CPL 3). Never run on the host: it lives in .rodata.
 * In: %rsi turns, %rbx the hypercall page, %rdi a shared page. Each loop ends with a store
 * to %rbx + 0x100, which no ioeventfd claims: that exit ends the measurement. */
    .section .rodata
    .globl bench_kvm_code, bench_kvm_code_end
    .globl bench_kvm_store, bench_kvm_kick, bench_kvm_ring, bench_kvm_block, bench_kvm_out
    .p2align 4
bench_kvm_code:
/* A 32-bit store to the hypercall page: an MMIO exit. */
bench_kvm_store:
    movl %ecx, (%rbx)
    dec %rsi
    jnz bench_kvm_store
    movl %ecx, 0x100(%rbx)
    jmp bench_kvm_store
/* A store to %rbx + 0x800, which the bench registers as an ioeventfd: handled in the kernel. */
bench_kvm_kick:
    movl %ecx, 0x800(%rbx)
    dec %rsi
    jnz bench_kvm_kick
    movl %ecx, 0x100(%rbx)
    jmp bench_kvm_kick
/* A request in shared memory, a kick, and a spin until a host thread answers it. */
bench_kvm_ring:
    mov $1, %r9
1:  mov %r9, (%rdi)
    movl %ecx, 0x800(%rbx)
2:  pause
    cmp 0x40(%rdi), %r9
    jne 2b
    inc %r9
    dec %rsi
    jnz 1b
    movl %ecx, 0x100(%rbx)
    jmp bench_kvm_ring
/* Turn K reads the page at %rdi + 0x1000 * (1 + K % 2) until it holds K: the host removes
 * each page before its turn, so the read blocks inside KVM until a host thread supplies the
 * page (userfaultfd). */
bench_kvm_block:
    mov $1, %r9
1:  mov %r9, %rax
    and $1, %rax
    shl $12, %rax
    lea 0x1000(%rdi,%rax), %r10
2:  cmp (%r10), %r9
    jne 2b
    inc %r9
    dec %rsi
    jnz 1b
    movl %ecx, 0x100(%rbx)
    jmp bench_kvm_block
/* Port I/O (the bench sets IOPL 3). */
bench_kvm_out:
    mov $0x500, %dx
1:  out %eax, %dx
    dec %rsi
    jnz 1b
    movl %ecx, 0x100(%rbx)
    jmp bench_kvm_out
bench_kvm_code_end:
    .section .note.GNU-stack,"",@progbits
