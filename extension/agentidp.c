/*-------------------------------------------------------------------------
 *
 * agentidp.c
 *		Module entry point: the agentidp.* settings of DESIGN.md §1.
 *
 * Each setting has a deliberate context: limits and token shape are SUSET
 * (a superuser may change them per session or database, an application
 * role may not); the key-encryption key is SIGHUP so it can only come from
 * the server configuration, and is hidden from SHOW ALL and from anyone
 * but a superuser.
 *
 *-------------------------------------------------------------------------
 */
#include "agentidp.h"

#include <limits.h>

#include "utils/guc.h"

PG_MODULE_MAGIC;

char	   *agentidp_issuer = NULL;
int			agentidp_token_ttl = 3600;
int			agentidp_max_agents = 100;
int			agentidp_monthly_token_quota = 10000;
int			agentidp_bcrypt_cost = 10;
int			agentidp_key_bits = 2048;
char	   *agentidp_key_encryption_key = NULL;
bool		agentidp_audit_chain = true;

void		_PG_init(void);

/* Define the settings, reserve the prefix and hook the audit chain. */
void
_PG_init(void)
{
	DefineCustomStringVariable("agentidp.issuer",
							   "Issuer (iss claim) of the access tokens.",
							   "Must match the public URL of the HTTP bridge.",
							   &agentidp_issuer,
							   "http://127.0.0.1:8080",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	/* No GUC_UNIT_S: SQL reads it as a bare integer of seconds. */
	DefineCustomIntVariable("agentidp.token_ttl",
							"Lifetime of an access token, in seconds.",
							NULL,
							&agentidp_token_ttl,
							3600, 5, 86400,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("agentidp.max_agents",
							"Most agents that may exist at once (0 = unlimited).",
							"Decommissioned agents do not count.",
							&agentidp_max_agents,
							100, 0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("agentidp.monthly_token_quota",
							"Tokens each agent may obtain per calendar month (0 = unlimited).",
							NULL,
							&agentidp_monthly_token_quota,
							10000, 0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("agentidp.bcrypt_cost",
							"bcrypt cost factor for client secret hashes.",
							"Each step doubles the time of the first verification of a secret.",
							&agentidp_bcrypt_cost,
							10, 4, 15,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("agentidp.key_bits",
							"RSA modulus size of new signing keys.",
							NULL,
							&agentidp_key_bits,
							2048, 2048, 4096,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("agentidp.key_encryption_key",
							   "Key-encryption key sealing the private signing keys.",
							   "Set it in postgresql.conf only; the AES-256-GCM key is its SHA-256.",
							   &agentidp_key_encryption_key,
							   NULL,
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("agentidp.audit_chain",
							 "Chain audit events with SHA-256 (tamper evidence).",
							 "Turn off only to measure its cost: unchained events fail verification.",
							 &agentidp_audit_chain,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("agentidp");

	AuditInit();
}
