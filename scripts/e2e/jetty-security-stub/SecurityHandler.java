package org.eclipse.jetty.security;

import org.eclipse.jetty.server.Handler;

/** Never instantiated by Kafka Connect: present so that Jetty's servlet context can resolve the type. */
public abstract class SecurityHandler extends Handler.Wrapper {
    public IdentityService getIdentityService() {
        return null;
    }
}
