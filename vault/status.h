/* Result codes of the vault library. The library never prints and never exits: it returns
 * one of these and fills a pl_err with one sentence for a person; cli/ picks the exit code. */
#ifndef PL_VAULT_STATUS_H
#define PL_VAULT_STATUS_H

#include "formats/bytes.h"

typedef enum {
    PL_OK = 0,
    PL_E_IO,         /* a file or the database could not be read or written */
    PL_E_NOMEM,
    PL_E_INVALID,    /* the request itself is wrong: bad date, unknown scope, … */
    PL_E_EXISTS,     /* a vault is already there */
    PL_E_NOVAULT,    /* no vault at that place */
    PL_E_NOTFOUND,   /* no such entry or subject */
    PL_E_AMBIGUOUS,  /* an id prefix matches more than one entry */
    PL_E_CONSENT,    /* the subject's consent does not cover this record */
    PL_E_PASSPHRASE, /* wrong passphrase or recovery code */
    PL_E_LOCKED,     /* another peerlog holds the vault too long */
    PL_E_INTEGRITY,  /* tampering, damage, a broken chain or signature */
    PL_E_ACCESS      /* this vault holds no key for that body */
} pl_status;

#define PL_ERR_MSG_MAX 512

typedef struct {
    char msg[PL_ERR_MSG_MAX];
} pl_err;

/* Sets err->msg (printf-style) and returns st, so callers can `return pl_fail(...)`. */
pl_status pl_fail(pl_err *err, pl_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *pl_status_name(pl_status st);

#endif
