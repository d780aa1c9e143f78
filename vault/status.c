#include "vault/status.h"

#include <stdarg.h>
#include <stdio.h>

pl_status pl_fail(pl_err *err, pl_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

const char *pl_status_name(pl_status st)
{
    switch (st) {
    case PL_OK: return "ok";
    case PL_E_IO: return "i/o error";
    case PL_E_NOMEM: return "out of memory";
    case PL_E_INVALID: return "invalid request";
    case PL_E_EXISTS: return "already exists";
    case PL_E_NOVAULT: return "no vault";
    case PL_E_NOTFOUND: return "not found";
    case PL_E_AMBIGUOUS: return "ambiguous";
    case PL_E_CONSENT: return "no consent";
    case PL_E_PASSPHRASE: return "wrong passphrase";
    case PL_E_LOCKED: return "locked";
    case PL_E_INTEGRITY: return "integrity failure";
    case PL_E_ACCESS: return "access denied";
    }
    return "unknown";
}
