package org.eclipse.jetty.security;

import java.security.Principal;

public interface UserIdentity {
    Principal getUserPrincipal();
}
