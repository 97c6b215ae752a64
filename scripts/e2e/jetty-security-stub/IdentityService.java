package org.eclipse.jetty.security;

/** The subset of Jetty 12's identity service that the servlet classes refer to. */
public interface IdentityService {
    interface Association extends AutoCloseable {
        @Override
        void close();
    }

    interface RunAsToken {
    }

    Association associate(UserIdentity user, RunAsToken token);

    RunAsToken newRunAsToken(String role);

    UserIdentity getSystemUserIdentity();
}
