/* qemu TCG plugin: counts the guest instructions a program executes, and records the running count
 * each time the program reaches a marker address (er_mcu_mark in the board runtime).
 *
 *   qemu-system-arm ... -plugin ./liber_icount.so,out=/path/counts.txt,mark=0x1234
 *
 * Writes `mark <count>` to `out` for every execution of the instruction at `mark`, and `total <count>`
 * when qemu exits. Counting is per translated block: each block adds its instruction count when it
 * starts, so a mark's count includes the rest of the marker's block, a constant that cancels in the
 * difference of two marks. Built by edgerun.platforms.mcu on first use with the host C compiler.
 *
 * The plugin API (a stable C ABI, versioned by qemu_plugin_version) is declared below from qemu's
 * documented interface rather than included, because Debian's qemu packages do not ship the header. */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- The part of qemu's plugin API (version 1, qemu 4.2 and later) this plugin uses -------------- */
#define ER_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

ER_EXPORT int qemu_plugin_version = 1;
ER_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);

/* --- Counting ------------------------------------------------------------------------------------ */

static uint64_t er_count;        /* instructions so far (one vCPU: no atomics needed) */
static uint64_t er_mark = UINT64_MAX; /* marker address, or none */
static FILE *er_out;

static void er_on_mark(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    fprintf(er_out, "mark %" PRIu64 "\n", er_count);
}

static void er_on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &er_count, n);
    for (size_t i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (qemu_plugin_insn_vaddr(insn) == er_mark) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, er_on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
    }
}

static void er_on_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    fprintf(er_out, "total %" PRIu64 "\n", er_count);
    if (er_out != stderr) {
        fclose(er_out);
    }
}

int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    const char *out = NULL;
    for (int i = 0; i < argc; ++i) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            out = argv[i] + 4;
        } else if (strncmp(argv[i], "mark=", 5) == 0) {
            er_mark = strtoull(argv[i] + 5, NULL, 0);
        } else {
            fprintf(stderr, "er_icount: unknown argument %s (expected out=PATH, mark=ADDRESS)\n", argv[i]);
            return 1;
        }
    }
    er_out = out != NULL ? fopen(out, "w") : stderr;
    if (er_out == NULL) {
        fprintf(stderr, "er_icount: cannot write %s\n", out);
        return 1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, er_on_translate);
    qemu_plugin_register_atexit_cb(id, er_on_exit, NULL);
    return 0;
}
