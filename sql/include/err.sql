-- pg_temp.err(q): 'ok', or the SQLSTATE and message of the error statement
-- q raised (uuids masked so that the output is deterministic).  The regress
-- files include it with \i sql/include/err.sql (pg_regress runs them from
-- the top folder); it is not a test of its own (REGRESS is sql/*.sql).
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $$;
