-- An incoming package tracks paper copies for its recipients in the province only: the paper
-- check's province_recipients (gatewayd lists there the To/OrganIds that share a level-1 group
-- with one of [gateway] organ_ids). Before, gw_paper_stage (017) passed every To: a ministry's
-- circular to every province made one copy per province, all but ours overdue for ever. A check
-- without the member (an older gatewayd) keeps 017's reading.

CREATE OR REPLACE FUNCTION gw_paper_stage(p_package bigint, c jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    SELECT kind, recipients INTO p FROM package WHERE id = p_package;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM gw_paper_rows(p_package, p.kind,
                          CASE WHEN jsonb_typeof(c -> 'province_recipients') = 'array'
                               THEN ARRAY(SELECT jsonb_array_elements_text(c -> 'province_recipients'))
                               ELSE p.recipients END,
                          c);
END $$;
