package org.eclipse.jetty.security;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/** Without a security handler no request is ever authenticated: every lookup answers "none". */
public interface AuthenticationState {
    interface Succeeded extends AuthenticationState {
        String getAuthenticationType();

        UserIdentity getUserIdentity();

        boolean isUserInRole(String role);
    }

    static AuthenticationState getAuthenticationState(Request request) {
        return null;
    }

    static AuthenticationState getUndeferredAuthenticationState(Request request) {
        return null;
    }

    static Succeeded login(String user, String password, Request request, Response response) {
        return null;
    }

    static boolean logout(Request request, Response response) {
        return false;
    }
}
