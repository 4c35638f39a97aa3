#!/bin/sh
# Builds the test PKI of unit.sig.path and unit.sig.trust with the openssl CLI into DIR:
#   root (UTF-8 name of the Government-specialised CA), sub (pathlen 0, AIA to root), leaves under
#   sub: person, org, tsa, tsa_nc (EKU not critical), ocsp, expired, notyet, kenc (keyEncipherment
#   only), srvauth (EKU serverAuth only), sha1, weakkey (RSA 512), noku (no keyUsage), eku_doc
#   (documentSigning + Microsoft document signing EKU), eku_client (clientAuth only);
#   sub_exp (expired 2020) + leaf_subexp;
#   root2 + leaf2 (an unknown root), subnoca (CA:FALSE) + leaf_noca, sub2 (CA under sub) + leaf_deep.
# Every certificate is PEM (NAME.pem); sub is also DER (sub.der).   test_path_pki.sh DIR
set -eu
D=$1
mkdir -p "$D/db"
cd "$D"
: >db/index.txt
echo 1000 >db/serial
cat >ca.cnf <<'EOF'
[ca]
default_ca = dflt
[dflt]
dir = ./db
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = pol
unique_subject = no
email_in_dn = no
copy_extensions = none
[pol]
commonName = optional
[req]
distinguished_name = dn
[dn]
EOF
cat >ext.cnf <<'EOF'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
certificatePolicies = 2.5.29.32.0
[sub]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = 2.5.29.32.0
authorityInfoAccess = caIssuers;URI:http://ca.test/root.crt
[sub_open]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = 2.5.29.32.0
[noca]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[person]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = clientAuth, emailProtection
authorityKeyIdentifier = keyid
certificatePolicies = 1.3.6.1.4.1.55555.1.1
authorityInfoAccess = caIssuers;URI:http://ca.test/sub.crt, OCSP;URI:http://ocsp.test/
crlDistributionPoints = URI:ldap://ldap.test/cn=sub, URI:http://crl.test/sub.crl
[org]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
authorityKeyIdentifier = keyid
certificatePolicies = 1.3.6.1.4.1.55555.1.2
[tsa]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
[tsa_nc]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = timeStamping
[ocsp]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
[kenc]
basicConstraints = CA:FALSE
keyUsage = critical, keyEncipherment
[srvauth]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
[noku]
basicConstraints = CA:FALSE
[eku_doc]
basicConstraints = CA:FALSE
keyUsage = critical, nonRepudiation
extendedKeyUsage = 1.3.6.1.5.5.7.3.36, 1.3.6.1.4.1.311.10.3.12
[eku_client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF

key() { # NAME rsa|ec|rsa512
  case $2 in
  rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null ;;
  rsa512) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out "$1.key" 2>/dev/null ;;
  ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" ;;
  esac
}
# issue NAME KEY SUBJECT CA(-|self|name) EXT START END [extra ca args]
issue() {
  n=$1 k=$2 subj=$3 ca=$4 ext=$5 start=$6 end=$7
  shift 7
  openssl req -new -utf8 -config ca.cnf -key "$k.key" -subj "$subj" -out "$n.csr"
  if [ "$ca" = self ]; then
    set -- -selfsign -keyfile "$k.key" "$@"
  else
    set -- -cert "$ca.pem" -keyfile "$ca.key" "$@"
  fi
  openssl ca -batch -notext -utf8 -preserveDN -config ca.cnf -in "$n.csr" -out "$n.pem" \
    -extfile ext.cnf -extensions "$ext" -startdate "$start" -enddate "$end" "$@" 2>/dev/null
}

key root rsa
key sub ec
key leaf ec
key rsaleaf rsa
key weak rsa512
key root2 ec
key subnoca ec
key sub2 ec
key sub_exp ec

issue root root "/C=VN/O=Ban Cơ yếu Chính phủ/CN=Cơ quan chứng thực số chuyên dùng Chính phủ" \
  self root 150101000000Z 450101000000Z
issue sub sub "/C=VN/O=Ban Cơ yếu Chính phủ/CN=Cục Chứng thực số và Bảo mật thông tin - Sub CA" \
  root sub 160101000000Z 440101000000Z
openssl x509 -in sub.pem -outform DER -out sub.der

issue person rsaleaf "/C=VN/ST=Hồ Chí Minh/UID=CCCD:079123456789/CN=Nguyễn Văn An" \
  sub person 240101000000Z 340101000000Z
issue org leaf "/C=VN/O=Sở Thông tin và Truyền thông/CN=Sở Thông tin và Truyền thông" \
  sub org 240101000000Z 340101000000Z
issue tsa leaf "/C=VN/O=Ban Cơ yếu Chính phủ/CN=TSA" sub tsa 240101000000Z 340101000000Z
issue tsa_nc leaf "/C=VN/CN=TSA non-critical" sub tsa_nc 240101000000Z 340101000000Z
issue ocsp leaf "/C=VN/CN=OCSP responder" sub ocsp 240101000000Z 340101000000Z
issue expired leaf "/C=VN/CN=Trần Thị Hết Hạn" sub person 190101000000Z 210101000000Z
issue notyet leaf "/C=VN/CN=Lê Văn Chưa Tới" sub person 400101000000Z 420101000000Z
issue kenc leaf "/C=VN/CN=Key Encipherment" sub kenc 240101000000Z 340101000000Z
issue srvauth leaf "/C=VN/CN=server.test" sub srvauth 240101000000Z 340101000000Z
issue sha1 leaf "/C=VN/CN=SHA-1 signed" sub person 240101000000Z 340101000000Z -md sha1
issue weakkey weak "/C=VN/CN=RSA 512" sub person 240101000000Z 340101000000Z
issue noku leaf "/C=VN/CN=No key usage" sub noku 240101000000Z 340101000000Z

issue eku_doc leaf "/C=VN/CN=Document signing EKU" sub eku_doc 240101000000Z 340101000000Z
issue eku_client leaf "/C=VN/CN=Client EKU only" sub eku_client 240101000000Z 340101000000Z
issue sub_exp sub_exp "/C=VN/CN=Expired Sub CA" root sub 160101000000Z 200101000000Z
issue leaf_subexp leaf "/C=VN/CN=Under an expired sub" sub_exp person 170101000000Z 300101000000Z

issue root2 root2 "/C=VN/CN=Unknown Root" self root 150101000000Z 450101000000Z
issue leaf2 leaf "/C=VN/CN=Under unknown root" root2 person 240101000000Z 340101000000Z
issue subnoca subnoca "/C=VN/CN=Sub without CA flag" root noca 160101000000Z 440101000000Z
issue leaf_noca leaf "/C=VN/CN=Under a non-CA" subnoca person 240101000000Z 340101000000Z
issue sub2 sub2 "/C=VN/CN=Second level CA" sub sub_open 160101000000Z 440101000000Z
issue leaf_deep leaf "/C=VN/CN=Too deep" sub2 person 240101000000Z 340101000000Z
