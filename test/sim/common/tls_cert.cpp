#include "test/sim/common/tls_cert.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace nc::sim {

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

Ptr<EVP_PKEY> NewKey() {
  return Ptr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Ptr<X509> NewCert(EVP_PKEY* key, const std::string& cn) {
  Ptr<X509> cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 365);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("netconverge emulators"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

std::string CertPem(X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string KeyPem(EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

Result<GeneratedCert> GenerateServerCert(const std::string& common_name,
                                         const std::vector<std::string>& extra_dns_names) {
  auto ca_key = NewKey();
  auto srv_key = NewKey();
  if (!ca_key || !srv_key) return MakeError(ErrorCode::kInternal, "EC key generation failed");

  auto ca = NewCert(ca_key.get(), common_name + " CA");
  X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()));
  bool ok = AddExt(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE") &&
            AddExt(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign") &&
            AddExt(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (!ok || X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0)
    return MakeError(ErrorCode::kInternal, "signing the CA certificate failed");

  auto srv = NewCert(srv_key.get(), common_name);
  X509_set_issuer_name(srv.get(), X509_get_subject_name(ca.get()));
  std::string san = "DNS:localhost,DNS:" + common_name + ",IP:127.0.0.1,IP:0:0:0:0:0:0:0:1";
  for (const auto& d : extra_dns_names) san += ",DNS:" + d;
  ok = AddExt(srv.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") &&
       AddExt(srv.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
       AddExt(srv.get(), ca.get(), NID_ext_key_usage, "serverAuth") &&
       AddExt(srv.get(), ca.get(), NID_subject_alt_name, san) &&
       AddExt(srv.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (!ok || X509_sign(srv.get(), ca_key.get(), EVP_sha256()) == 0)
    return MakeError(ErrorCode::kInternal, "signing the server certificate failed");

  return GeneratedCert{CertPem(ca.get()), CertPem(srv.get()), KeyPem(srv_key.get())};
}

}  // namespace nc::sim
