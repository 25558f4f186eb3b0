/*
 * LeshanBootstrapRig: the test rig's launcher around Eclipse Leshan's real
 * bootstrap server (org.eclipse.leshan 2.0.0-M4, from the
 * leshan-server-demo jar-with-dependencies on Maven Central).
 *
 * It runs LeshanBootstrapServer (CoAP + CoAPS on loopback) with an in-memory
 * configuration store that the tests drive through a small HTTP JSON API
 * (com.sun.net.httpserver), and records every bootstrap session through
 * Leshan's BootstrapSessionListener.
 *
 *   java -cp <leshan jar>:out/rig/classes LeshanBootstrapRig \
 *        --host 127.0.0.1 --coap-port P --coaps-port P --http-port P \
 *        [--cert chain.pem --key key.pk8.der [--trust ca.der]...]
 *
 * With --cert/--key the CoAPS endpoint also has an X.509 identity (certificate
 * chain PEM or DER, private key PKCS#8 DER or PEM) and accepts client
 * certificates that chain to a --trust certificate (PEM or DER, repeatable).
 * Without them it serves PSK only.
 *
 * Prints "rig-bs ready coap=<port> coaps=<port> http=<port>" when listening.
 *
 * HTTP API (JSON):
 *   GET    /health            -> {"ok":true,"coap":P,"coaps":P}
 *   PUT    /config/<endpoint> -> store a configuration (see parseConfig);
 *                                400 {"error":...} when Leshan's own
 *                                ConfigurationChecker rejects it, unless
 *                                "unchecked": true (for negative tests)
 *   GET    /config/<endpoint> -> the stored configuration (as sent)
 *   GET    /config            -> {endpoint: config, ...}
 *   DELETE /config/<endpoint> -> remove it
 *   GET    /sessions          -> [session, ...] in start order
 *   DELETE /sessions          -> forget recorded sessions
 *
 * A configuration may carry "clientSecurity": {a security instance}: the
 * credentials the meter must present (PSK identity and key, or X509), when the
 * configuration does not write the bootstrap account (by default the bootstrap
 * account it writes says what is required).
 *
 * A configuration may carry "then": {another configuration}: once a session
 * served with it finishes, "then" replaces it for that endpoint (the next
 * Bootstrap-Request gets it), e.g. a broken configuration for the first
 * bootstrap and a working one for the fallback bootstrap that follows.
 *
 * A configuration may carry "withholdFinish": true: the session sends every
 * request of the configuration (Leshan's own and the extra ones) but never
 * Bootstrap-Finish. Leshan keeps that session open (it is cancelled by Leshan
 * itself when the same endpoint sends a new Bootstrap-Request); the recorded
 * session gets state "withheld" and "finishWithheld": true, and "then" applies
 * as for a finished session.
 *
 * Only test/rig/leshan.ts talks to it; its TypeScript types mirror this file.
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

import org.eclipse.leshan.core.CertificateUsage;
import org.eclipse.leshan.core.Link;
import org.eclipse.leshan.core.model.ObjectLoader;
import org.eclipse.leshan.core.model.ObjectModel;
import org.eclipse.leshan.core.model.ResourceModel;
import org.eclipse.leshan.core.node.LwM2mPath;
import org.eclipse.leshan.core.node.LwM2mSingleResource;
import org.eclipse.leshan.core.MatchingType;
import org.eclipse.leshan.core.SecurityMode;
import org.eclipse.leshan.core.request.BindingMode;
import org.eclipse.leshan.core.request.BootstrapDeleteRequest;
import org.eclipse.leshan.core.request.BootstrapDiscoverRequest;
import org.eclipse.leshan.core.request.BootstrapDownlinkRequest;
import org.eclipse.leshan.core.request.BootstrapFinishRequest;
import org.eclipse.leshan.core.request.BootstrapReadRequest;
import org.eclipse.leshan.core.request.BootstrapRequest;
import org.eclipse.leshan.core.request.BootstrapWriteRequest;
import org.eclipse.leshan.core.request.ContentFormat;
import org.eclipse.leshan.core.request.Identity;
import org.eclipse.leshan.core.response.BootstrapDiscoverResponse;
import org.eclipse.leshan.core.response.BootstrapReadResponse;
import org.eclipse.leshan.core.response.LwM2mResponse;
import org.eclipse.leshan.core.util.Hex;
import org.eclipse.leshan.core.util.datatype.ULong;
import org.eclipse.leshan.server.bootstrap.BootstrapConfig;
import org.eclipse.leshan.server.bootstrap.BootstrapConfigStore;
import org.eclipse.leshan.server.bootstrap.BootstrapConfigStoreTaskProvider;
import org.eclipse.leshan.server.bootstrap.BootstrapFailureCause;
import org.eclipse.leshan.server.bootstrap.BootstrapSessionManager;
import org.eclipse.leshan.server.bootstrap.BootstrapSession;
import org.eclipse.leshan.server.bootstrap.BootstrapSessionListener;
import org.eclipse.leshan.server.bootstrap.BootstrapTaskProvider;
import org.eclipse.leshan.server.bootstrap.BootstrapUtil;
import org.eclipse.leshan.server.bootstrap.ConfigurationChecker;
import org.eclipse.leshan.server.bootstrap.DefaultBootstrapHandler;
import org.eclipse.leshan.server.bootstrap.DefaultBootstrapSessionManager;
import org.eclipse.leshan.server.bootstrap.InvalidConfigurationException;
import org.eclipse.leshan.server.bootstrap.LwM2mBootstrapRequestSender;
import org.eclipse.leshan.server.californium.bootstrap.LeshanBootstrapServer;
import org.eclipse.leshan.server.californium.bootstrap.LeshanBootstrapServerBuilder;
import org.eclipse.leshan.server.model.StandardBootstrapModelProvider;
import org.eclipse.leshan.server.security.BootstrapSecurityStore;
import org.eclipse.leshan.server.security.SecurityChecker;
import org.eclipse.leshan.server.security.SecurityInfo;

public class LeshanBootstrapRig {

    static final ObjectMapper JSON = new ObjectMapper();

    /** A stored configuration: Leshan's object plus what the test sent. */
    static final class Entry {
        final BootstrapConfig config;
        final JsonNode source;
        final List<BootstrapDownlinkRequest<? extends LwM2mResponse>> extra;
        /** Replaces this entry once a session served with it finishes ("then"), or null. */
        final Entry next;
        /** What the meter must present ("clientSecurity"), else null: the bootstrap account's. */
        final BootstrapConfig.ServerSecurity client;
        /** "withholdFinish": everything but Bootstrap-Finish is sent. */
        final boolean withholdFinish;

        Entry(BootstrapConfig config, JsonNode source, List<BootstrapDownlinkRequest<? extends LwM2mResponse>> extra,
                Entry next, BootstrapConfig.ServerSecurity client, boolean withholdFinish) {
            this.config = config;
            this.source = source;
            this.extra = extra;
            this.next = next;
            this.client = client;
            this.withholdFinish = withholdFinish;
        }

        /** The credentials the meter must present: "clientSecurity", else the bootstrap account written. */
        BootstrapConfig.ServerSecurity required() {
            return client != null ? client : bootstrapAccount(config);
        }
    }

    /** Builds an entry (and its "then" chain); checked by Leshan unless "unchecked". */
    static Entry entry(JsonNode j) throws InvalidConfigurationException {
        BootstrapConfig c = parseConfig(j);
        List<BootstrapDownlinkRequest<? extends LwM2mResponse>> extra = parseExtra(j, c.contentFormat);
        if (!j.path("unchecked").asBoolean(false))
            new ConfigurationChecker().verify(c);
        Entry next = j.hasNonNull("then") ? entry(j.get("then")) : null;
        BootstrapConfig.ServerSecurity client = j.hasNonNull("clientSecurity") ? security(j.get("clientSecurity")) : null;
        return new Entry(c, j, extra, next, client, j.path("withholdFinish").asBoolean(false));
    }

    static final Map<String, Entry> CONFIGS = new ConcurrentHashMap<>();
    /** The entry each session was served with (session id -> entry), for "then". */
    static final Map<String, Entry> SERVED = new ConcurrentHashMap<>();

    // ------------------------------------------------------------------
    // Configuration store, security store, task provider

    /** In-memory store. No checking here: PUT /config checks unless "unchecked". */
    static final class Store implements BootstrapConfigStore {
        @Override
        public BootstrapConfig get(String endpoint, Identity identity, BootstrapSession session) {
            Entry e = endpoint == null ? null : CONFIGS.get(endpoint);
            if (e == null && identity != null && identity.isPSK()) {
                // endpoint name is optional when the DTLS identity names the meter
                for (Entry c : CONFIGS.values()) {
                    BootstrapConfig.ServerSecurity bs = c.required();
                    if (bs != null && bs.securityMode == SecurityMode.PSK && bs.publicKeyOrId != null
                            && new String(bs.publicKeyOrId, StandardCharsets.UTF_8).equals(identity.getPskIdentity()))
                        return c.config;
                }
            }
            if (e != null && session != null)
                SERVED.put(session.getId(), e);
            return e == null ? null : e.config;
        }
    }

    static BootstrapConfig.ServerSecurity bootstrapAccount(BootstrapConfig c) {
        for (BootstrapConfig.ServerSecurity s : c.security.values())
            if (s.bootstrapServer)
                return s;
        return null;
    }

    /**
     * Credentials a meter must present to the bootstrap server: taken from the
     * bootstrap account (bootstrapServer=true) of the endpoint's configuration.
     * A NoSec bootstrap account means plain CoAP is accepted; a PSK one requires
     * that identity and key; an X509 one requires a client certificate that chains
     * to a --trust certificate and whose CN is the endpoint name (Leshan's
     * SecurityChecker).
     */
    static final class SecurityStore implements BootstrapSecurityStore {
        @Override
        public Iterator<SecurityInfo> getAllByEndpoint(String endpoint) {
            Entry e = endpoint == null ? null : CONFIGS.get(endpoint);
            SecurityInfo info = e == null ? null : infoFor(endpoint, e.required());
            return info == null ? Collections.<SecurityInfo>emptyIterator()
                    : Collections.singletonList(info).iterator();
        }

        @Override
        public SecurityInfo getByIdentity(String pskIdentity) {
            for (Map.Entry<String, Entry> e : CONFIGS.entrySet()) {
                SecurityInfo info = infoFor(e.getKey(), e.getValue().required());
                if (info != null && info.usePSK() && pskIdentity.equals(info.getIdentity()))
                    return info;
            }
            return null;
        }

        static SecurityInfo infoFor(String endpoint, BootstrapConfig.ServerSecurity bs) {
            if (bs != null && bs.securityMode == SecurityMode.X509)
                return SecurityInfo.newX509CertInfo(endpoint);
            if (bs == null || bs.securityMode != SecurityMode.PSK || bs.publicKeyOrId == null || bs.secretKey == null)
                return null;
            return SecurityInfo.newPreSharedKeyInfo(endpoint, new String(bs.publicKeyOrId, StandardCharsets.UTF_8),
                    bs.secretKey);
        }
    }

    /** Leshan's own task provider, plus the test's extra requests before Finish. */
    static final class Tasks implements BootstrapTaskProvider {
        final BootstrapConfigStoreTaskProvider inner;

        Tasks(BootstrapConfigStore store) {
            inner = new BootstrapConfigStoreTaskProvider(store);
        }

        @Override
        public BootstrapTaskProvider.Tasks getTasks(BootstrapSession session, List<LwM2mResponse> previous) {
            BootstrapTaskProvider.Tasks t = inner.getTasks(session, previous);
            if (t != null && t.last) {
                Entry e = SERVED.get(session.getId());
                if (e == null)
                    e = CONFIGS.get(session.getEndpoint());
                if (e != null && !e.extra.isEmpty()) {
                    List<BootstrapDownlinkRequest<? extends LwM2mResponse>> all = new ArrayList<>(t.requestsToSend);
                    all.addAll(e.extra);
                    t.requestsToSend = all;
                }
            }
            return t;
        }
    }

    /**
     * Leshan's own bootstrap handler, except that Bootstrap-Finish is not sent for a
     * session served with a "withholdFinish" configuration: the session stays open in
     * Leshan (onGoingSession) with nothing more to send. Every other request goes out
     * (and is recorded) exactly as Leshan sends it.
     */
    static final class Handler extends DefaultBootstrapHandler {
        Handler(LwM2mBootstrapRequestSender sender, BootstrapSessionManager manager, BootstrapSessionListener listener) {
            super(sender, manager, listener);
        }

        @Override
        protected void sendRequest(BootstrapSession s, BootstrapDownlinkRequest<? extends LwM2mResponse> req) {
            Entry e = SERVED.get(s.getId());
            if (e == null && s.getEndpoint() != null)
                e = CONFIGS.get(s.getEndpoint());
            if (req instanceof BootstrapFinishRequest && e != null && e.withholdFinish && !s.isCancelled()) {
                withheld(s, e);
                return;
            }
            super.sendRequest(s, req);
        }
    }

    /** A session whose Finish is withheld: recorded as "withheld"; "then" applies. */
    static void withheld(BootstrapSession s, Entry e) {
        ObjectNode n = session(s);
        synchronized (n) {
            n.put("state", "withheld");
            n.put("finishWithheld", true);
        }
        System.out.println("rig-bs session " + s.getId() + " of " + s.getEndpoint() + ": Bootstrap-Finish withheld");
        advance(s.getEndpoint(), e);
    }

    /** Replaces the endpoint's entry by its "then" once a session served with it is over. */
    static void advance(String ep, Entry served) {
        if (ep == null)
            return;
        Entry e = CONFIGS.get(ep);
        if (e != null && e.next != null && e == served) {
            CONFIGS.put(ep, e.next);
            System.out.println("rig-bs config " + ep + " replaced by its \"then\" configuration");
        }
    }

    // ------------------------------------------------------------------
    // Session recording

    static final List<ObjectNode> SESSIONS = Collections.synchronizedList(new ArrayList<>());
    static final Map<String, ObjectNode> BY_ID = new ConcurrentHashMap<>();

    static String code(LwM2mResponse r) {
        int c = r.getCode().getCode();
        return (c / 100) + "." + String.format("%02d", c % 100);
    }

    static String kind(BootstrapDownlinkRequest<?> r) {
        String n = r.getClass().getSimpleName(); // BootstrapWriteRequest -> write
        return n.replace("Bootstrap", "").replace("Request", "").toLowerCase();
    }

    static ObjectNode session(BootstrapSession s) {
        ObjectNode n = BY_ID.get(s.getId());
        if (n == null) {
            n = JSON.createObjectNode();
            n.put("id", s.getId());
            n.put("endpoint", s.getEndpoint());
            fillRequest(n, s.getBootstrapRequest(), s.getIdentity());
            n.put("authorized", s.isAuthorized());
            n.put("contentFormat", s.getContentFormat() == null ? null : s.getContentFormat().getName());
            n.put("state", "started");
            n.putArray("requests");
            BY_ID.put(s.getId(), n);
            SESSIONS.add(n);
        }
        return n;
    }

    static void fillRequest(ObjectNode n, BootstrapRequest req, Identity id) {
        if (req != null) {
            n.put("endpoint", req.getEndpointName());
            ContentFormat pct = req.getPreferredContentFormat();
            n.put("preferredContentFormat", pct == null ? null : pct.getName());
        }
        if (id != null) {
            n.put("peer", id.getPeerAddress().getAddress().getHostAddress() + ":" + id.getPeerAddress().getPort());
            n.put("secure", id.isSecure());
            if (id.isPSK())
                n.put("pskIdentity", id.getPskIdentity());
            if (id.isX509())
                n.put("x509CommonName", id.getX509CommonName());
        }
    }

    static void record(BootstrapSession s, BootstrapDownlinkRequest<?> req, LwM2mResponse resp, Throwable err) {
        ObjectNode n = session(s);
        ArrayNode reqs = (ArrayNode) n.get("requests");
        synchronized (n) {
            ObjectNode r = null;
            for (int i = reqs.size() - 1; i >= 0; i--) {
                ObjectNode c = (ObjectNode) reqs.get(i);
                if (!c.has("code") && !c.has("error") && c.get("seq").asInt() == System.identityHashCode(req)) {
                    r = c;
                    break;
                }
            }
            if (r == null) {
                r = reqs.addObject();
                describe(r, req);
            }
            if (resp != null) {
                r.put("code", code(resp));
                r.put("codeName", resp.getCode().getName());
                r.put("success", resp.isSuccess());
                if (resp.getErrorMessage() != null)
                    r.put("errorMessage", resp.getErrorMessage());
                if (resp instanceof BootstrapDiscoverResponse) {
                    Link[] links = ((BootstrapDiscoverResponse) resp).getObjectLinks();
                    if (links != null)
                        r.put("links", Link.serialize(links));
                }
                if (resp instanceof BootstrapReadResponse && ((BootstrapReadResponse) resp).getContent() != null)
                    r.put("content", ((BootstrapReadResponse) resp).getContent().toString());
            }
            if (err != null)
                r.put("error", err.getClass().getSimpleName() + ": " + err.getMessage());
        }
    }

    static void describe(ObjectNode r, BootstrapDownlinkRequest<?> req) {
        r.put("seq", System.identityHashCode(req));
        r.put("kind", kind(req));
        // Bootstrap-Finish has no LwM2M path: it is a POST on /bs
        r.put("path", req.getPath() == null ? (kind(req).equals("finish") ? "/bs" : null) : req.getPath().toString());
        if (req instanceof BootstrapWriteRequest) {
            BootstrapWriteRequest w = (BootstrapWriteRequest) req;
            r.put("contentFormat", w.getContentFormat() == null ? null : w.getContentFormat().getName());
            r.put("node", String.valueOf(w.getNode()));
        }
    }

    static final class Listener implements BootstrapSessionListener {
        @Override
        public void sessionInitiated(BootstrapRequest request, Identity identity) {
            // the session object does not exist yet; "authorized" records it
        }

        @Override
        public void unAuthorized(BootstrapRequest request, Identity identity) {
            ObjectNode n = JSON.createObjectNode();
            n.put("id", "unauthorized-" + SESSIONS.size());
            fillRequest(n, request, identity);
            n.put("authorized", false);
            n.put("state", "failed");
            n.put("failure", "UNAUTHORIZED");
            n.putArray("requests");
            SESSIONS.add(n);
        }

        @Override
        public void authorized(BootstrapSession s) {
            session(s);
        }

        @Override
        public void noConfig(BootstrapSession s) {
            session(s).put("noConfig", true);
        }

        @Override
        public void sendRequest(BootstrapSession s, BootstrapDownlinkRequest<? extends LwM2mResponse> req) {
            ObjectNode n = session(s);
            synchronized (n) {
                describe(((ArrayNode) n.get("requests")).addObject(), req);
            }
        }

        @Override
        public void onResponseSuccess(BootstrapSession s, BootstrapDownlinkRequest<? extends LwM2mResponse> req,
                LwM2mResponse resp) {
            record(s, req, resp, null);
        }

        @Override
        public void onResponseError(BootstrapSession s, BootstrapDownlinkRequest<? extends LwM2mResponse> req,
                LwM2mResponse resp) {
            record(s, req, resp, null);
        }

        @Override
        public void onRequestFailure(BootstrapSession s, BootstrapDownlinkRequest<? extends LwM2mResponse> req,
                Throwable cause) {
            record(s, req, null, cause);
        }

        @Override
        public void end(BootstrapSession s) {
            session(s).put("state", "finished");
            advance(s.getEndpoint(), SERVED.get(s.getId()));
        }

        @Override
        public void failed(BootstrapSession s, BootstrapFailureCause cause) {
            ObjectNode n = session(s);
            n.put("state", "failed");
            n.put("failure", cause.name());
        }
    }

    // ------------------------------------------------------------------
    // JSON -> BootstrapConfig

    static byte[] bytes(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull())
            return null;
        String s = v.asText();
        return Hex.decodeHex(s.toCharArray());
    }

    static Integer integer(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asInt();
    }

    static BootstrapConfig.ServerConfig server(JsonNode s) {
        BootstrapConfig.ServerConfig c = new BootstrapConfig.ServerConfig();
        c.shortId = s.path("shortId").asInt();
        c.lifetime = s.path("lifetime").asInt(86400);
        c.defaultMinPeriod = integer(s, "defaultMinPeriod");
        c.defaultMaxPeriod = integer(s, "defaultMaxPeriod");
        c.disableTimeout = integer(s, "disableTimeout");
        c.notifIfDisabled = s.path("notifIfDisabled").asBoolean(true);
        c.binding = s.has("binding") ? BindingMode.parse(s.get("binding").asText()) : EnumSet.of(BindingMode.U);
        c.apnLink = integer(s, "apnLink");
        c.trigger = s.has("trigger") ? s.get("trigger").asBoolean() : null;
        c.preferredTransport = s.has("preferredTransport") ? BindingMode.valueOf(s.get("preferredTransport").asText())
                : null;
        c.muteSend = s.has("muteSend") ? s.get("muteSend").asBoolean() : null;
        return c;
    }

    static BootstrapConfig.ServerSecurity security(JsonNode s) {
        BootstrapConfig.ServerSecurity c = new BootstrapConfig.ServerSecurity();
        c.uri = s.path("uri").asText(null);
        c.bootstrapServer = s.path("bootstrapServer").asBoolean(false);
        String mode = s.path("securityMode").asText("NO_SEC");
        c.securityMode = SecurityMode.valueOf(mode);
        c.publicKeyOrId = bytes(s, "publicKeyOrId");
        if (c.publicKeyOrId == null)
            c.publicKeyOrId = new byte[0];
        c.serverPublicKey = bytes(s, "serverPublicKey");
        if (c.serverPublicKey == null)
            c.serverPublicKey = new byte[0];
        c.secretKey = bytes(s, "secretKey");
        if (c.secretKey == null)
            c.secretKey = new byte[0];
        c.serverId = integer(s, "serverId");
        c.clientOldOffTime = integer(s, "clientHoldOffTime");
        c.bootstrapServerAccountTimeout = integer(s, "bootstrapServerAccountTimeout");
        if (s.has("matchingType"))
            c.matchingType = MatchingType.valueOf(s.get("matchingType").asText());
        if (s.has("sni"))
            c.sni = s.get("sni").asText();
        if (s.has("certificateUsage"))
            c.certificateUsage = CertificateUsage.valueOf(s.get("certificateUsage").asText());
        if (s.has("cipherSuite"))
            c.cipherSuite = ULong.valueOf(s.get("cipherSuite").asLong());
        c.oscoreSecurityMode = integer(s, "oscoreSecurityMode");
        return c;
    }

    static BootstrapConfig.ACLConfig acl(JsonNode s) {
        BootstrapConfig.ACLConfig c = new BootstrapConfig.ACLConfig();
        c.objectId = s.path("objectId").asInt();
        c.objectInstanceId = s.path("objectInstanceId").asInt();
        if (s.has("acls")) {
            c.acls = new java.util.HashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = s.get("acls").fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> a = it.next();
                c.acls.put(Integer.valueOf(a.getKey()), a.getValue().asLong());
            }
        }
        c.AccessControlOwner = integer(s, "accessControlOwner");
        return c;
    }

    static ContentFormat format(String name) {
        if (name == null)
            return null;
        ContentFormat f = ContentFormat.fromName(name);
        if (f == null)
            throw new IllegalArgumentException("unknown content format " + name);
        return f;
    }

    static BootstrapConfig parseConfig(JsonNode j) {
        BootstrapConfig c = new BootstrapConfig();
        c.autoIdForSecurityObject = j.path("autoIdForSecurityObject").asBoolean(false);
        c.contentFormat = format(j.path("contentFormat").asText(null));
        if (j.has("toDelete"))
            for (JsonNode d : j.get("toDelete"))
                c.toDelete.add(d.asText());
        Iterator<Map.Entry<String, JsonNode>> it;
        if (j.has("servers"))
            for (it = j.get("servers").fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                c.servers.put(Integer.valueOf(e.getKey()), server(e.getValue()));
            }
        if (j.has("security"))
            for (it = j.get("security").fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                c.security.put(Integer.valueOf(e.getKey()), security(e.getValue()));
            }
        if (j.has("acls"))
            for (it = j.get("acls").fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                c.acls.put(Integer.valueOf(e.getKey()), acl(e.getValue()));
            }
        return c;
    }

    /**
     * Extra requests sent after Leshan's own (before Bootstrap-Finish):
     * {"op":"discover","path":"/"}, {"op":"read","path":"/1"},
     * {"op":"delete","path":"/0/5"}, {"op":"write-server","instance":1,"server":{...}},
     * {"op":"write-security","instance":3,"security":{...}},
     * {"op":"write-acl","instance":0,"acl":{...}},
     * {"op":"write-resource","path":"/1/0/17","value":1} (integer, unsigned where
     * Leshan's model says so, boolean or string, from the JSON type); optional "contentFormat".
     */
    static List<BootstrapDownlinkRequest<? extends LwM2mResponse>> parseExtra(JsonNode j, ContentFormat dflt) {
        List<BootstrapDownlinkRequest<? extends LwM2mResponse>> out = new ArrayList<>();
        if (!j.has("extraRequests"))
            return out;
        for (JsonNode r : j.get("extraRequests")) {
            String op = r.path("op").asText();
            String path = r.path("path").asText(null);
            ContentFormat f = r.has("contentFormat") ? format(r.get("contentFormat").asText()) : dflt;
            if (f == null)
                f = ContentFormat.TLV;
            switch (op) {
            case "discover":
                out.add(path == null ? new BootstrapDiscoverRequest() : new BootstrapDiscoverRequest(path));
                break;
            case "read":
                out.add(new BootstrapReadRequest(f, path));
                break;
            case "delete":
                out.add(path == null ? new BootstrapDeleteRequest() : new BootstrapDeleteRequest(path));
                break;
            case "write-server":
                out.add(BootstrapUtil.toWriteRequest(r.path("instance").asInt(), server(r.get("server")), f));
                break;
            case "write-security":
                out.add(BootstrapUtil.toWriteRequest(r.path("instance").asInt(), security(r.get("security")), f));
                break;
            case "write-acl":
                out.add(BootstrapUtil.toWriteRequest(r.path("instance").asInt(), acl(r.get("acl")), f));
                break;
            case "write-resource": {
                LwM2mPath target = new LwM2mPath(path);
                JsonNode v = r.get("value");
                int rid = target.getResourceId();
                LwM2mSingleResource res = v.isBoolean() ? LwM2mSingleResource.newBooleanResource(rid, v.asBoolean())
                        : !v.isIntegralNumber() ? LwM2mSingleResource.newStringResource(rid, v.asText())
                        : unsignedInModel(target) ? LwM2mSingleResource.newUnsignedIntegerResource(rid, ULong.valueOf(v.asLong()))
                        : LwM2mSingleResource.newIntegerResource(rid, v.asLong());
                out.add(new BootstrapWriteRequest(target, res, f));
                break;
            }
            default:
                throw new IllegalArgumentException("unknown extra request op " + op);
            }
        }
        return out;
    }

    /** True when Leshan's standard model types this resource Unsigned Integer (e.g. /1/x/17..20). */
    static boolean unsignedInModel(LwM2mPath p) {
        for (ObjectModel m : ObjectLoader.loadDefault())
            if (m.id == p.getObjectId()) {
                ResourceModel r = m.resources.get(p.getResourceId());
                return r != null && r.type == ResourceModel.Type.UNSIGNED_INTEGER;
            }
        return false;
    }

    // ------------------------------------------------------------------
    // HTTP API

    static void reply(HttpExchange x, int status, Object body) throws IOException {
        byte[] b = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.sendResponseHeaders(status, b.length);
        try (OutputStream o = x.getResponseBody()) {
            o.write(b);
        }
    }

    static ObjectNode error(String msg) {
        ObjectNode n = JSON.createObjectNode();
        n.put("error", msg);
        return n;
    }

    static byte[] body(HttpExchange x) throws IOException {
        try (InputStream in = x.getRequestBody()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    static void handle(HttpExchange x, LeshanBootstrapServer bs) throws IOException {
        try {
            String method = x.getRequestMethod();
            String path = x.getRequestURI().getRawPath();
            if (path.equals("/health")) {
                ObjectNode n = JSON.createObjectNode();
                n.put("ok", true);
                n.put("coap", bs.getUnsecuredAddress().getPort());
                n.put("coaps", bs.getSecuredAddress() == null ? 0 : bs.getSecuredAddress().getPort());
                if (X509CN != null)
                    n.put("x509", X509CN);
                reply(x, 200, n);
            } else if (path.equals("/sessions")) {
                if (method.equals("DELETE")) {
                    synchronized (SESSIONS) {
                        SESSIONS.clear();
                        BY_ID.clear();
                    }
                    reply(x, 200, JSON.createObjectNode());
                } else {
                    ArrayNode a = JSON.createArrayNode();
                    synchronized (SESSIONS) {
                        for (ObjectNode s : SESSIONS)
                            synchronized (s) {
                                ObjectNode c = s.deepCopy();
                                for (JsonNode r : c.get("requests"))
                                    ((ObjectNode) r).remove("seq"); // internal matching key
                                a.add(c);
                            }
                    }
                    reply(x, 200, a);
                }
            } else if (path.equals("/config") || path.equals("/config/")) {
                ObjectNode n = JSON.createObjectNode();
                for (Map.Entry<String, Entry> e : CONFIGS.entrySet())
                    n.set(e.getKey(), e.getValue().source);
                reply(x, 200, n);
            } else if (path.startsWith("/config/")) {
                String ep = URLDecoder.decode(path.substring("/config/".length()), StandardCharsets.UTF_8);
                if (method.equals("PUT") || method.equals("POST")) {
                    JsonNode j = JSON.readTree(body(x));
                    Entry en;
                    try {
                        en = entry(j);
                    } catch (InvalidConfigurationException e) {
                        reply(x, 400, error("Leshan rejects the configuration: " + e.getMessage()));
                        return;
                    } catch (RuntimeException e) {
                        reply(x, 400, error("bad configuration: " + e));
                        return;
                    }
                    BootstrapConfig c = en.config;
                    CONFIGS.put(ep, en);
                    System.out.println("rig-bs config " + ep + " " + c);
                    ObjectNode n = JSON.createObjectNode();
                    n.put("endpoint", ep);
                    n.put("config", c.toString());
                    reply(x, 200, n);
                } else if (method.equals("DELETE")) {
                    Entry e = CONFIGS.remove(ep);
                    reply(x, e == null ? 404 : 200, e == null ? error("no configuration for " + ep) : e.source);
                } else if (method.equals("GET")) {
                    Entry e = CONFIGS.get(ep);
                    reply(x, e == null ? 404 : 200, e == null ? error("no configuration for " + ep) : e.source);
                } else {
                    reply(x, 405, error("method " + method));
                }
            } else {
                reply(x, 404, error("unknown path " + path));
            }
        } catch (Exception e) {
            e.printStackTrace();
            reply(x, 500, error(e.toString()));
        } finally {
            x.close();
        }
    }

    // ------------------------------------------------------------------
    // X.509 identity of the CoAPS endpoint (files made by test/rig/pki.ts)

    /** Subject of our own certificate when --cert was given, else null. */
    static String X509CN = null;

    /** Every certificate in a PEM or DER file (a chain: own certificate first). */
    static X509Certificate[] certificates(String file) throws Exception {
        try (InputStream in = Files.newInputStream(Paths.get(file))) {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in))
                out.add((X509Certificate) c);
            if (out.isEmpty())
                throw new IllegalArgumentException("no certificate in " + file);
            return out.toArray(new X509Certificate[0]);
        }
    }

    /** A PKCS#8 private key, DER or PEM ("PRIVATE KEY"). */
    static PrivateKey privateKey(String file) throws Exception {
        byte[] b = Files.readAllBytes(Paths.get(file));
        String text = new String(b, StandardCharsets.US_ASCII);
        if (text.contains("-----BEGIN PRIVATE KEY-----"))
            b = Base64.getMimeDecoder().decode(text.replaceAll("-----[A-Z ]+-----", ""));
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(b));
    }

    // ------------------------------------------------------------------

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int coap = 0, coaps = 0, http = 0;
        String certFile = null, keyFile = null;
        List<String> trustFiles = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
            case "--cert":
                certFile = args[++i];
                break;
            case "--key":
                keyFile = args[++i];
                break;
            case "--trust":
                trustFiles.add(args[++i]);
                break;
            case "--host":
                host = args[++i];
                break;
            case "--coap-port":
                coap = Integer.parseInt(args[++i]);
                break;
            case "--coaps-port":
                coaps = Integer.parseInt(args[++i]);
                break;
            case "--http-port":
                http = Integer.parseInt(args[++i]);
                break;
            default:
                System.err.println("usage: LeshanBootstrapRig [--host H] [--coap-port P] [--coaps-port P] [--http-port P]"
                        + " [--cert chain --key pkcs8 [--trust cert]...]");
                System.exit(2);
            }
        }
        if ((certFile == null) != (keyFile == null)) {
            System.err.println("LeshanBootstrapRig: --cert and --key go together");
            System.exit(2);
        }

        Store store = new Store();
        SecurityStore securityStore = new SecurityStore();
        DefaultBootstrapSessionManager sessions = new DefaultBootstrapSessionManager(securityStore,
                new SecurityChecker(), new Tasks(store), new StandardBootstrapModelProvider());

        LeshanBootstrapServerBuilder b = new LeshanBootstrapServerBuilder();
        b.setLocalAddress(host, coap);
        b.setLocalSecureAddress(host, coaps);
        b.setSecurityStore(securityStore);
        b.setSessionManager(sessions);
        b.setBootstrapHandlerFactory(Handler::new);
        if (certFile != null) {
            X509Certificate[] chain = certificates(certFile);
            b.setCertificateChain(chain);
            b.setPrivateKey(privateKey(keyFile));
            List<X509Certificate> trusted = new ArrayList<>();
            for (String t : trustFiles)
                trusted.addAll(Arrays.asList(certificates(t)));
            b.setTrustedCertificates(trusted.toArray(new X509Certificate[0]));
            X509CN = chain[0].getSubjectX500Principal().getName();
            System.out.println("rig-bs x509 identity " + X509CN + ", " + trusted.size() + " trusted certificate(s)");
        }
        LeshanBootstrapServer bs = b.build();
        bs.addListener(new Listener());
        bs.start();

        HttpServer api = HttpServer.create(new InetSocketAddress(host, http), 16);
        api.createContext("/", x -> handle(x, bs));
        api.setExecutor(Executors.newFixedThreadPool(4));
        api.start();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            api.stop(0);
            bs.destroy();
        }));

        System.out.println("rig-bs ready coap=" + bs.getUnsecuredAddress().getPort() + " coaps="
                + (bs.getSecuredAddress() == null ? 0 : bs.getSecuredAddress().getPort()) + " http="
                + api.getAddress().getPort());
        System.out.flush();
    }
}
