import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

/**
 * Each sandbox serves HTTPS with a certificate from a CA it generates, so clients exercise real TLS verification
 * and trust the sandbox only through a CA file. Keys come from node:crypto (fast, native); node-forge only builds
 * and signs the X.509 certificates, which node:crypto cannot do.
 */
export interface SandboxTls {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
  /** Where the CA certificate was written (clients pass it as --ca-file). */
  caFile: string;
}

export interface KeyPairPem {
  privateKey: string;
  publicKey: string;
}

export function generateRsaKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKey, publicKey };
}

interface CertificateOptions {
  subjectCn: string;
  issuer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
  isCa?: boolean;
  altNames?: { dns?: string[]; ip?: string[] };
  days?: number;
}

export function issueCertificate(keys: KeyPairPem, options: CertificateOptions): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + (options.days ?? 825) * 86_400_000);
  const subject = [
    { name: 'commonName', value: options.subjectCn },
    { name: 'organizationName', value: 'Liaison sandbox' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : subject);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: options.isCa === true, critical: true },
    options.isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (!options.isCa) {
    extensions.push({ name: 'extKeyUsage', serverAuth: true, clientAuth: true });
    const altNames = [
      ...(options.altNames?.dns ?? []).map((value) => ({ type: 2, value })),
      ...(options.altNames?.ip ?? []).map((ip) => ({ type: 7, ip })),
    ];
    if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  }
  cert.setExtensions(extensions);
  const signingKey = options.issuer?.key ?? forge.pki.privateKeyFromPem(keys.privateKey);
  cert.sign(signingKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A CA plus a server certificate for localhost / 127.0.0.1 / ::1, with the CA written to `dir/ca.pem`. */
export function createSandboxTls(dir: string, name: string): SandboxTls {
  mkdirSync(dir, { recursive: true });
  const caKeys = generateRsaKeyPair();
  const caCert = issueCertificate(caKeys, { subjectCn: `Liaison ${name} sandbox CA`, isCa: true, days: 3650 });
  const serverKeys = generateRsaKeyPair();
  const cert = issueCertificate(serverKeys, {
    subjectCn: 'localhost',
    issuer: {
      cert: forge.pki.certificateFromPem(caCert),
      key: forge.pki.privateKeyFromPem(caKeys.privateKey) as forge.pki.rsa.PrivateKey,
    },
    altNames: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] },
  });
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, caCert, { mode: 0o644 });
  return { caCert, caKey: caKeys.privateKey, cert, key: serverKeys.privateKey, caFile };
}

/** SHA-1 thumbprint of a PEM certificate, base64url (what Entra ID's `x5t` header carries). */
export function certificateThumbprint(certPem: string, encoding: 'base64url' | 'hex' = 'base64url'): string {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(certPem))).getBytes();
  const md = forge.md.sha1.create();
  md.update(der);
  const bytes = Buffer.from(md.digest().getBytes(), 'binary');
  return encoding === 'hex' ? bytes.toString('hex').toUpperCase() : bytes.toString('base64url');
}
