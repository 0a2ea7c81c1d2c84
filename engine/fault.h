/*
 * fault.h — named points where a test makes the daemon fail as it could in the field (a patch
 * damaged on its way, the daemon killed between two steps), so that what follows is tested
 * for real. The product's engine_fault() says no to every point; the test build of the daemon
 * (tests/orch/fault.c, linked in its place) says yes where UNISEC_TEST_FAULT names the point.
 */
#ifndef UNISEC_ENGINE_FAULT_H
#define UNISEC_ENGINE_FAULT_H

/* The points. */
#define ENGINE_FAULT_BAD_PATCH "bad-patch" /* the first ACL patch sent is damaged */
#define ENGINE_FAULT_AFTER_COMMIT                                                                  \
    "after-commit"               /* killed once a commit is durable, before                        \
                                  * anything is served or pushed */
#define ENGINE_FAULT_SYNC "sync" /* a deferred sync of the store's work tree fails (EIO) */
#define ENGINE_FAULT_REBASE                                                                        \
    "rebase" /* killed once a policy's new base is compiled on the side, before it is taken over   \
              */
#define ENGINE_FAULT_REBASE_DELIVER                                                                \
    "rebase-deliver" /* killed once a new base is taken over to be delivered, before it is         \
                      * pushed */

#define ENGINE_FAULT_REBASE_SLOW                                                                   \
    "rebase-slow" /* a policy's new base takes 3 s more on its thread (UNISEC_TEST_FAULT_MS),      \
                   * so that changes land while it compiles */

#define ENGINE_FAULT_PAIR                                                                          \
    "pair" /* killed before a new base and the patch over it are pushed in one message */
#define ENGINE_FAULT_MAIN_LOCK                                                                     \
    "main-lock" /* killed once main's lock is taken by renaming the spare, before it is written */
#define ENGINE_FAULT_INDEX                                                                         \
    "index" /* the store's index is read and changed, not written yet (a git command may write it  \
             * then) */

/* Is the fault POINT to happen now? 0 in the product. A point that kills does not return. */
int engine_fault(const char *point);

#endif
