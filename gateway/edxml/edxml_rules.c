/*
 * The element table of the reader: which child of which element is which role (edxml_rd.h),
 * matched by local name once the namespace rule has passed (QCVN 102 namespace, or none), and how
 * much text each leaf keeps.
 */
#include <string.h>

#include "edxml/edxml.h"
#include "edxml/edxml_rd.h"
#include "util/common.h"

struct rule {
    unsigned char parent, role;
    const char *name;
};

static const struct rule rules[] = {
    {R_ROOT, R_ENV, "edXMLEnvelope"},
    {R_ROOT, R_ATTENC, "AttachmentEncoded"},
    {R_ENV, R_HDR, "edXMLHeader"},
    {R_ENV, R_BODY, "edXMLBody"},
    {R_ENV, R_ATTENC, "AttachmentEncoded"},
    {R_HDR, R_MSG, "MessageHeader"},
    {R_HDR, R_TLIST, "TraceHeaderList"},
    {R_HDR, R_SIG, "Signature"},
    {R_BODY, R_MANIFEST, "edXMLManifest"},
    {R_MANIFEST, R_REF, "Reference"},
    {R_ATTENC, R_ATT, "Attachment"},
    {R_ATT, R_CTE, "ContentTransferEncoded"},
    {R_ATT, L_CID, "ContentId"},
    {R_ATT, L_ANAME, "AttachmentName"},
    {R_ATT, L_DESC, "Description"},
    {R_ATT, L_CTYPE, "ContentType"},
    {R_REF, L_CID, "ContentId"},
    {R_REF, L_ANAME, "AttachmentName"},
    {R_REF, L_DESC, "Description"},
    {R_REF, L_CTYPE, "ContentType"},
    {R_MSG, R_FROM, "From"},
    {R_MSG, R_TO, "To"},
    {R_MSG, L_DOCID, "DocumentId"},
    {R_MSG, R_CODE, "Code"},
    {R_MSG, R_PROMUL, "PromulgationInfo"},
    {R_MSG, R_DTYPE, "DocumentType"},
    {R_MSG, L_SUBJECT, "Subject"},
    {R_MSG, L_CONTENT, "Content"},
    {R_MSG, R_SIGNER, "SignerInfo"},
    {R_MSG, L_DUEDATE, "DueDate"},
    {R_MSG, R_TOPLACES, "ToPlaces"},
    {R_MSG, R_OTHERINFO, "OtherInfo"},
    {R_MSG, R_RESPFOR, "ResponseFor"},
    {R_MSG, L_STEERING, "SteeringType"},
    {R_MSG, R_STAFF, "StaffInfo"},
    {R_MSG, L_STATUS, "StatusCode"},
    {R_MSG, L_DESC, "Description"},
    {R_MSG, L_TIMESTAMP, "Timestamp"},
    {R_FROM, L_ORGANID, "OrganId"},
    {R_FROM, L_OIC, "OrganizationInCharge"},
    {R_FROM, L_ORGNAME, "OrganName"},
    {R_FROM, L_ORGADD, "OrganAdd"},
    {R_FROM, L_EMAIL, "Email"},
    {R_FROM, L_TEL, "Telephone"},
    {R_FROM, L_FAX, "Fax"},
    {R_FROM, L_WEB, "Website"},
    {R_TO, L_ORGANID, "OrganId"},
    {R_TO, L_OIC, "OrganizationInCharge"},
    {R_TO, L_ORGNAME, "OrganName"},
    {R_TO, L_ORGADD, "OrganAdd"},
    {R_TO, L_EMAIL, "Email"},
    {R_TO, L_TEL, "Telephone"},
    {R_TO, L_FAX, "Fax"},
    {R_TO, L_WEB, "Website"},
    {R_CODE, L_CODENUM, "CodeNumber"},
    {R_CODE, L_CODENOT, "CodeNotation"},
    {R_PROMUL, L_PLACE, "Place"},
    {R_PROMUL, L_PDATE, "PromulgationDate"},
    {R_DTYPE, L_TYPE, "Type"},
    {R_DTYPE, L_TYPEDETAIL, "TypeDetail"},
    {R_DTYPE, L_TYPENAME, "TypeName"},
    {R_SIGNER, L_COMPETENCE, "Competence"},
    {R_SIGNER, L_POSITION, "Position"},
    {R_SIGNER, L_FULLNAME, "FullName"},
    {R_TOPLACES, L_PLACE, "Place"},
    {R_OTHERINFO, L_PRIORITY, "Priority"},
    {R_OTHERINFO, L_SPHERE, "SphereOfPromulgation"},
    {R_OTHERINFO, L_TYPER, "TyperNotation"},
    {R_OTHERINFO, L_PAMOUNT, "PromulgationAmount"},
    {R_OTHERINFO, L_PAGES, "PageAmount"},
    {R_OTHERINFO, L_DIRECTION, "Direction"},
    {R_OTHERINFO, R_APPXS, "Appendixes"},
    {R_APPXS, L_APPENDIX, "Appendix"},
    {R_RESPFOR, L_ORGANID, "OrganId"},
    {R_RESPFOR, L_RCODE, "Code"},
    {R_RESPFOR, L_PDATE, "PromulgationDate"},
    {R_RESPFOR, L_DOCID, "DocumentId"},
    {R_STAFF, L_DEPT, "Department"},
    {R_STAFF, L_STAFF, "Staff"},
    {R_STAFF, L_EMAIL, "Email"},
    {R_STAFF, L_MOBILE, "Mobile"},
    {R_TLIST, R_TRACE, "TraceHeader"},
    {R_TLIST, R_BUS, "Bussiness"},
    {R_TLIST, R_BUS, "Business"},
    {R_TRACE, L_ORGANID, "OrganId"},
    {R_TRACE, L_TIMESTAMP, "Timestamp"},
    {R_BUS, L_DOCID, "DocumentId"},
    {R_BUS, L_BDT, "BussinessDocType"},
    {R_BUS, L_BDT, "BusinessDocType"},
    {R_BUS, L_REASON, "BussinessDocReason"},
    {R_BUS, L_REASON, "BusinessDocReason"},
    {R_BUS, L_PAPER, "Paper"},
    {R_BUS, R_STAFF, "StaffInfo"},
    {R_BUS, R_BDI, "BussinessDocumentInfo"},
    {R_BUS, R_BDI, "BusinessDocumentInfo"},
    {R_BUS, R_RLIST, "ReceiverList"},
    {R_BUS, R_REPLL, "ReplacementInfoList"},
    {R_BDI, L_DOCINFO, "DocumentInfo"},
    {R_BDI, L_DOCRECV, "DocumentReceiver"},
    {R_BDI, R_RLIST, "ReceiverList"},
    {R_RLIST, R_RECV, "Receiver"},
    {R_RECV, L_ORGANID, "OrganId"},
    {R_RECV, L_RTYPE, "ReceiverType"},
    {R_REPLL, R_REPL, "ReplacementInfo"},
    {R_REPL, L_DOCID, "DocumentId"},
    {R_REPL, R_OIDL, "OrganIdList"},
    {R_OIDL, L_ORGANID, "OrganId"},
};

/* Text kept per leaf: free text 64 KiB, everything else 1 KiB. */
size_t rd_cap_of(int role)
{
    return role == L_SUBJECT || role == L_CONTENT || role == L_DESC || role == L_REASON ||
                   role == L_APPENDIX
               ? 64 * 1024
               : 1024;
}

bool rd_in_edxml_ns(const xmlChar *uri)
{
    return uri == NULL || *uri == '\0' || strcmp((const char *)uri, GW_EDXML_NS) == 0;
}

int rd_child_role(int parent, const char *name)
{
    for (size_t i = 0; i < GW_ARRAY_LEN(rules); i++) {
        if (rules[i].parent == parent && strcmp(rules[i].name, name) == 0)
            return rules[i].role;
    }
    return R_OTHER;
}

/* Appends one zeroed item to *v (n items), growing by doubling. NULL on allocation failure. */

/* Fixed caps on repeated elements, counted per package, empty and self-closing ones included,
 * so that the model and its JSON form stay bounded whatever the package. Recipient lists (To,
 * Receiver, OrganIdList/OrganId) are a local limit (a large circular is capacity, not hostility:
 * GW_ELIMIT "too_many_items", left on the axis); the others are hostile structure (a verdict,
 * GW_EPARSE "too_many_elements", domain.md §2): real packages carry tens of them at most.
 * 0: uncapped. */
unsigned rd_elem_cap(int parent, int role, bool *local)
{
    *local = false;
    switch (role) {
    case R_TO:
    case R_RECV:
        *local = true;
        return RD_CAP_TO;
    case L_ORGANID:
        *local = true;
        return parent == R_OIDL ? RD_CAP_TO : 0;
    case R_RESPFOR:
    case R_TRACE:
    case R_REPL:
        return RD_CAP_SMALL;
    case R_REF:
    case R_ATT:
    case L_APPENDIX:
        return RD_CAP_ATT;
    case L_PLACE:
        return parent == R_TOPLACES ? RD_CAP_SMALL : 0;
    default:
        return 0;
    }
}
