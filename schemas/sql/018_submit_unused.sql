-- 017's gw_submit_staged does the staged-body submission itself: 006's gw_submit taking a staged
-- body (last replaced by 014) has no caller left. Dropped so that one text of the outgoing
-- submission is live (the bytea form of 005, used by the non-staged path, stays).
DROP FUNCTION gw_submit(text, text, text, text, text[], text, smallint, bytea, bigint, bigint,
                        jsonb, text);
